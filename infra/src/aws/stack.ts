// The AWS stack: a two-zone VPC, security groups, an ALB in front of the edges, the origin(s),
// shield and edges as Fargate services running the images pushed to ECR, and Prometheus, Loki and
// Grafana beside them. Every service's environment comes from planServices/resolveEnv; AWS only
// decides addressing (Cloud Map names). The lab's own balancer is not deployed: the ALB is it.
import { ConfigError } from '@cdn-lab/service-kit';
import * as pulumi from '@pulumi/pulumi';
import path from 'node:path';
import * as aws from '@pulumi/aws';
import * as dockerBuild from '@pulumi/docker-build';
import { operatorEnv, planServices, resolveEnv, SERVICE_PROGRAMS, type OperatorSettings, type ServiceKind } from '../plan.ts';
import type { Topology } from '../topology.ts';
import { LB_ENV } from '@cdn-lab/load-balancer/config';
import { CONNECTION_ENV } from '@cdn-lab/service-kit';
import { baseTags, SERVICE_PORT, type AwsSettings } from '../components/stack-config.ts';
import { ServiceImages, SERVICE_KINDS } from '../components/service-images.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { OBSERVABILITY_IMAGES } from '../docker/observability.ts';
import type { StackOutputs } from '../docker/stack.ts';
import { albAlgorithm, awsHostOf, awsUrlOf, namespaceOf } from './addressing.ts';
import { appContainer, nodeHealthCommand } from './containers.ts';
import { FargateService } from './fargate-service.ts';
import { LabLoadBalancer, TARGET_KEEP_ALIVE_TIMEOUT_MS } from './load-balancer.ts';
import { LabVpc } from './network.ts';
import { AwsObservability } from './observability.ts';
import { LabSecurityGroups, PORTS } from './security-groups.ts';

export interface AwsStackInput {
  project: string;
  stack: string;
  topology: Topology;
  aws: AwsSettings;
  grafanaAdminPassword: pulumi.Input<string>;
  /** The services' admin token and fleet secret, when the stack sets them: kept in SSM, given to tasks as `secrets`. */
  secrets?: Pick<OperatorSettings<pulumi.Input<string>>, 'adminToken' | 'fleetSecret'>;
}

export function awsStack({ project, stack, topology, aws: settings, grafanaAdminPassword, secrets = {} }: AwsStackInput): StackOutputs {
  const algorithm = albAlgorithm(topology.balancer.algorithm);
  const prefix = `cdn-lab-${stack}`;
  const tags = { ...settings.tags, ...baseTags(project, stack, topology.name) };
  if (topology.edges.software !== 'cdn-lab') {
    throw new ConfigError('stack configuration', [
      `cdn-lab:topology.edges.software: the aws stack runs the lab's own edge only; "${topology.edges.software}" edges run in the local lab (npm run lab)`,
    ]);
  }
  const plans = planServices(topology);
  const balancer = plans.find((plan) => plan.kind === 'balancer');
  const behindAlb = new Set(balancer?.links[LB_ENV.backends] ?? []);
  const servicePlans = plans.filter((plan) => plan.kind !== 'balancer');
  const namespace = namespaceOf(stack);

  const network = new LabVpc(prefix, { cidr: settings.vpcCidr, tags });
  const security = new LabSecurityGroups(`${prefix}-sg`, {
    vpcId: network.vpc.id,
    listenerPort: settings.listenerPort,
    operatorCidr: settings.grafanaCidr,
    tags,
  });

  // Only the programs that run here get a repository (not the lab's balancer).
  const kinds = SERVICE_KINDS.filter((kind) => servicePlans.some((plan) => plan.kind === kind));
  const repositories = Object.fromEntries(
    kinds.map((kind) => [
      kind,
      new aws.ecr.Repository(`${prefix}-${SERVICE_PROGRAMS[kind].workspace}`, {
        name: `${prefix}/${SERVICE_PROGRAMS[kind].workspace}`,
        imageTagMutability: 'MUTABLE',
        imageScanningConfiguration: { scanOnPush: true },
        forceDelete: true,
        tags,
      }),
    ]),
  ) as Partial<Record<ServiceKind, aws.ecr.Repository>>;
  const grafanaRepository = new aws.ecr.Repository(`${prefix}-grafana`, {
    name: `${prefix}/grafana`,
    imageTagMutability: 'MUTABLE',
    forceDelete: true,
    tags,
  });
  for (const [kind, repository] of [...Object.entries(repositories), ['grafana', grafanaRepository] as const]) {
    new aws.ecr.LifecyclePolicy(`${prefix}-${kind}-keep-5`, {
      repository: repository.name,
      policy: JSON.stringify({
        rules: [{ rulePriority: 1, description: 'keep the 5 newest images', selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: 5 }, action: { type: 'expire' } }],
      }),
    });
  }
  const anyRepository = Object.values(repositories)[0]!;
  const token = aws.ecr.getAuthorizationTokenOutput({ registryId: anyRepository.registryId });
  const { images } = new ServiceImages(`${prefix}-images`, {
    repositories: Object.fromEntries(SERVICE_KINDS.map((kind) => [kind, repositories[kind]?.repositoryUrl ?? `unused/${kind}`])) as Record<ServiceKind, pulumi.Input<string>>,
    kinds,
    tag: 'latest',
    push: true,
    // Fargate tasks run X86_64 (fargate-service.ts).
    platform: 'linux/amd64',
    registry: { address: anyRepository.repositoryUrl.apply((url) => url.split('/')[0]!), username: token.userName, password: pulumi.secret(token.password) },
  });

  // Grafana with the dashboards baked in (the Dockerfile's `grafana` target), pushed beside the services.
  const grafanaImage = new dockerBuild.Image(`${prefix}-grafana-image`, {
    context: { location: REPO_ROOT },
    dockerfile: { location: path.join(REPO_ROOT, 'Dockerfile') },
    target: 'grafana',
    buildArgs: { GRAFANA_IMAGE: OBSERVABILITY_IMAGES.grafana },
    tags: [pulumi.interpolate`${grafanaRepository.repositoryUrl}:latest`],
    platforms: ['linux/amd64'],
    push: true,
    registries: [{ address: grafanaRepository.repositoryUrl.apply((url) => url.split('/')[0]!), username: token.userName, password: pulumi.secret(token.password) }],
  });

  const cluster = new aws.ecs.Cluster(`${prefix}-cluster`, { settings: [{ name: 'containerInsights', value: 'disabled' }], tags });
  const dns = new aws.servicediscovery.PrivateDnsNamespace(`${prefix}-ns`, { name: namespace, vpc: network.vpc.id, description: `cdn-lab ${stack}`, tags });

  const executionRole = new aws.iam.Role(`${prefix}-task-execution`, {
    assumeRolePolicy: JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    }),
    tags,
  });
  new aws.iam.RolePolicyAttachment(`${prefix}-task-execution-managed`, {
    role: executionRole.name,
    policyArn: aws.iam.ManagedPolicy.AmazonECSTaskExecutionRolePolicy,
  });
  const grafanaPassword = new aws.ssm.Parameter(`${prefix}-grafana-admin-password`, {
    name: `/${prefix}/grafana-admin-password`,
    type: 'SecureString',
    value: pulumi.secret(grafanaAdminPassword),
    tags,
  });
  // The services' secrets, when set, live in SSM beside Grafana's password; tasks get them as `secrets`.
  const secretParameters: Pick<OperatorSettings<pulumi.Output<string>>, 'adminToken' | 'fleetSecret'> = {};
  for (const [name, slug] of [['adminToken', 'admin-token'], ['fleetSecret', 'fleet-secret']] as const) {
    const value = secrets[name];
    if (value === undefined) continue;
    secretParameters[name] = new aws.ssm.Parameter(`${prefix}-${slug}`, { name: `/${prefix}/${slug}`, type: 'SecureString', value: pulumi.secret(value), tags }).arn;
  }
  new aws.iam.RolePolicy(`${prefix}-read-secrets`, {
    role: executionRole.id,
    policy: pulumi.all([grafanaPassword.arn, ...Object.values(secretParameters)]).apply((arns) =>
      JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ssm:GetParameters'], Resource: arns }] }),
    ),
  });

  const loadBalancer = new LabLoadBalancer(`${prefix}-lb`, {
    vpcId: network.vpc.id,
    subnetIds: network.subnetIds,
    securityGroupId: security.groups.alb.id,
    listenerPort: settings.listenerPort,
    algorithm,
    healthCheckIntervalSeconds: settings.healthCheckIntervalSeconds,
    tags,
  });

  for (const plan of servicePlans) {
    const env = {
      ...resolveEnv(plan, awsUrlOf(namespace)),
      HOST: '0.0.0.0',
      PORT: String(SERVICE_PORT),
      ...(behindAlb.has(plan.id) ? { [CONNECTION_ENV.keepAliveTimeoutMs]: String(TARGET_KEEP_ALIVE_TIMEOUT_MS) } : {}),
    };
    const size = plan.kind === 'origin' ? settings.origin : settings.edge;
    new FargateService(
      `${prefix}-${plan.id}`,
      {
        id: plan.id,
        clusterArn: cluster.arn,
        namespaceId: dns.id,
        subnetIds: network.subnetIds,
        securityGroupId: plan.kind === 'origin' ? security.groups.origin.id : security.groups.edge.id,
        executionRoleArn: executionRole.arn,
        cpu: size.cpu,
        memory: size.memory,
        port: SERVICE_PORT,
        targetGroupArns: behindAlb.has(plan.id) ? [loadBalancer.edgeTargets.arn] : [],
        container: pulumi.all([images[plan.kind].ref, operatorEnv(plan, secretParameters).secrets]).apply(([image, secretArns]) =>
          appContainer({
            name: plan.id,
            image,
            env,
            ...(Object.keys(secretArns).length > 0 ? { secrets: Object.entries(secretArns).map(([variable, valueFrom]) => ({ name: variable, valueFrom })) } : {}),
            port: SERVICE_PORT,
            healthCommand: nodeHealthCommand(),
            drainGraceMs: plan.drainGraceMs,
            loki: { host: awsHostOf(namespace)('loki'), port: PORTS.loki, labels: plan.labels },
          }),
        ),
        tags,
      },
      { dependsOn: [loadBalancer] },
    );
  }

  new AwsObservability(
    `${prefix}-observability`,
    {
      prefix,
      stack,
      plans: servicePlans,
      namespace,
      namespaceId: dns.id,
      clusterArn: cluster.arn,
      subnetIds: network.subnetIds,
      securityGroupIds: { prometheus: security.groups.prometheus.id, loki: security.groups.loki.id, grafana: security.groups.grafana.id },
      executionRoleArn: executionRole.arn,
      grafanaPasswordParameterArn: grafanaPassword.arn,
      grafanaImage: grafanaImage.ref,
      targetGroupArns: { prometheus: loadBalancer.prometheusTargets.arn, grafana: loadBalancer.grafanaTargets.arn },
      size: settings.observability,
      scrapeIntervalSeconds: 15,
      tags,
    },
    { dependsOn: [loadBalancer] },
  );

  const listenerSuffix = settings.listenerPort === 80 ? '' : `:${settings.listenerPort}`;
  return {
    cdnUrl: pulumi.interpolate`http://${loadBalancer.dnsName}${listenerSuffix}`,
    grafanaUrl: pulumi.interpolate`http://${loadBalancer.dnsName}:${PORTS.grafana}`,
    prometheusUrl: pulumi.interpolate`http://${loadBalancer.dnsName}:${PORTS.prometheus}`,
  };
}
