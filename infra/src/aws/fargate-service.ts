// One lab service on ECS Fargate: a task definition (its container, plus a log router when logs
// ship to Loki), a Cloud Map name (`<id>.<namespace>`), and an ECS service that keeps one task
// running in the lab's subnets, optionally registered with an ALB target group.
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import type { ContainerDefinition } from './containers.ts';
import { logRouterContainer } from './containers.ts';

export interface FargateServiceArgs {
  /** Service id: the container name, the Cloud Map name and the ECS service name. */
  id: string;
  clusterArn: pulumi.Input<string>;
  namespaceId: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  executionRoleArn: pulumi.Input<string>;
  /** The app container; `image` may be an Output (an ECR digest reference). */
  container: pulumi.Input<ContainerDefinition>;
  cpu: number;
  memory: number;
  port: number;
  /** Register the task with these target groups (the edges behind the ALB, Grafana, Prometheus). */
  targetGroupArns?: pulumi.Input<string>[];
  tags: Record<string, string>;
}

export class FargateService extends pulumi.ComponentResource {
  readonly service: aws.ecs.Service;
  readonly taskDefinition: aws.ecs.TaskDefinition;

  constructor(name: string, args: FargateServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:aws:FargateService', name, {}, opts);
    const child = { parent: this };
    const tags = { ...args.tags, Service: args.id };
    const discovery = new aws.servicediscovery.Service(
      `${name}-dns`,
      {
        name: args.id,
        namespaceId: args.namespaceId,
        dnsConfig: { namespaceId: args.namespaceId, dnsRecords: [{ type: 'A', ttl: 10 }], routingPolicy: 'MULTIVALUE' },
        healthCheckCustomConfig: { failureThreshold: 1 },
        forceDestroy: true,
        tags,
      },
      child,
    );
    const containers = pulumi.output(args.container).apply((app) => {
      const definitions: ContainerDefinition[] = [app];
      if (app.logConfiguration?.logDriver === 'awsfirelens') definitions.push(logRouterContainer());
      return JSON.stringify(definitions);
    });
    this.taskDefinition = new aws.ecs.TaskDefinition(
      `${name}-task`,
      {
        family: name,
        networkMode: 'awsvpc',
        requiresCompatibilities: ['FARGATE'],
        cpu: String(args.cpu),
        memory: String(args.memory),
        executionRoleArn: args.executionRoleArn,
        runtimePlatform: { operatingSystemFamily: 'LINUX', cpuArchitecture: 'X86_64' },
        containerDefinitions: containers,
        tags,
      },
      child,
    );
    this.service = new aws.ecs.Service(
      `${name}-service`,
      {
        name: args.id,
        cluster: args.clusterArn,
        taskDefinition: this.taskDefinition.arn,
        desiredCount: 1,
        launchType: 'FARGATE',
        networkConfiguration: {
          subnets: args.subnetIds,
          securityGroups: [args.securityGroupId],
          // Public IPs only to pull images (no NAT gateway); inbound is governed by the security group.
          assignPublicIp: true,
        },
        serviceRegistries: { registryArn: discovery.arn },
        loadBalancers: (args.targetGroupArns ?? []).map((targetGroupArn) => ({ targetGroupArn, containerName: args.id, containerPort: args.port })),
        ...(args.targetGroupArns?.length ? { healthCheckGracePeriodSeconds: 30 } : {}),
        deploymentMinimumHealthyPercent: 0,
        deploymentMaximumPercent: 100,
        propagateTags: 'SERVICE',
        waitForSteadyState: false,
        tags,
      },
      child,
    );
    this.registerOutputs({ serviceName: this.service.name });
  }
}
