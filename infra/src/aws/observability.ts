// Prometheus, Loki and Grafana as Fargate services. Prometheus scrapes every lab service by its
// Cloud Map name (service discovery through the namespace's DNS), with the scrape config and rules
// rendered by @cdn-lab/grafana; Loki receives the services' logs from their FireLens routers;
// Grafana (the lab's image with the dashboards) is provisioned with both datasources and the
// dashboard provider, and gets its admin password from SSM.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { GRAFANA_DIR, RULE_FILES, prometheusArgs, renderDashboardProvider, renderDatasources, renderPrometheusConfig, scrapeTargets } from '@cdn-lab/grafana';
import type { ServicePlan } from '../plan.ts';
import { SERVICE_PORT } from '../components/stack-config.ts';
import { LOKI_CONFIG, OBSERVABILITY_IMAGES } from '../docker/observability.ts';
import { appContainer, writeFilesThenExec } from './containers.ts';
import { awsHostOf } from './addressing.ts';
import { FargateService } from './fargate-service.ts';
import { PORTS } from './security-groups.ts';

/** Where the Dockerfile's `grafana` target puts the dashboards (outside the image's /var/lib/grafana VOLUME). */
export const IMAGE_DASHBOARDS_DIR = '/etc/grafana/dashboards';

export interface AwsObservabilityArgs {
  prefix: string;
  stack: string;
  plans: ServicePlan[];
  namespace: string;
  namespaceId: pulumi.Input<string>;
  clusterArn: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  securityGroupIds: { prometheus: pulumi.Input<string>; loki: pulumi.Input<string>; grafana: pulumi.Input<string> };
  executionRoleArn: pulumi.Input<string>;
  /** SSM parameter holding the Grafana admin password (the execution role may read it). */
  grafanaPasswordParameterArn: pulumi.Input<string>;
  /** Grafana with the lab's dashboards in IMAGE_DASHBOARDS_DIR (the Dockerfile's `grafana` target, in ECR). */
  grafanaImage: pulumi.Input<string>;
  targetGroupArns: { prometheus: pulumi.Input<string>; grafana: pulumi.Input<string> };
  size: { cpu: number; memory: number };
  scrapeIntervalSeconds: number;
  tags: Record<string, string>;
}

export class AwsObservability extends pulumi.ComponentResource {
  constructor(name: string, args: AwsObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:aws:Observability', name, {}, opts);
    const child = { parent: this };
    const hostOf = awsHostOf(args.namespace);
    const common = {
      clusterArn: args.clusterArn,
      namespaceId: args.namespaceId,
      subnetIds: args.subnetIds,
      executionRoleArn: args.executionRoleArn,
      cpu: args.size.cpu,
      memory: args.size.memory,
      tags: args.tags,
    };

    const ruleDir = '/tmp/rules';
    const rules = Object.fromEntries(
      Object.values(RULE_FILES).map((file) => [`${ruleDir}/${path.basename(file)}`, readFileSync(path.join(GRAFANA_DIR, file), 'utf8')]),
    );
    const prometheusConfig = renderPrometheusConfig({
      targets: scrapeTargets(args.plans, (id) => `${hostOf(id)}:${SERVICE_PORT}`),
      scrapeIntervalSeconds: args.scrapeIntervalSeconds,
      ruleFiles: Object.keys(rules),
      externalLabels: { lab: args.stack },
    });
    const prometheusStart = writeFilesThenExec({ '/tmp/prometheus.yml': prometheusConfig, ...rules }, [
      '/bin/prometheus',
      ...prometheusArgs({ configFile: '/tmp/prometheus.yml', dataDir: '/prometheus', listenAddress: `0.0.0.0:${PORTS.prometheus}`, retention: '2d' }),
    ]);
    new FargateService(
      `${args.prefix}-prometheus`,
      {
        ...common,
        id: 'prometheus',
        port: PORTS.prometheus,
        securityGroupId: args.securityGroupIds.prometheus,
        targetGroupArns: [args.targetGroupArns.prometheus],
        container: appContainer({
          name: 'prometheus',
          image: OBSERVABILITY_IMAGES.prometheus,
          port: PORTS.prometheus,
          env: prometheusStart.env,
          entryPoint: prometheusStart.entryPoint,
          command: prometheusStart.command,
        }),
      },
      child,
    );

    // The same Loki config as the Docker stack (grafana/loki/loki.yml), written by the entry point.
    const lokiStart = writeFilesThenExec({ '/tmp/loki.yml': readFileSync(LOKI_CONFIG, 'utf8') }, ['/usr/bin/loki', '-config.file=/tmp/loki.yml']);
    new FargateService(
      `${args.prefix}-loki`,
      {
        ...common,
        id: 'loki',
        port: PORTS.loki,
        securityGroupId: args.securityGroupIds.loki,
        container: appContainer({
          name: 'loki',
          image: OBSERVABILITY_IMAGES.loki,
          port: PORTS.loki,
          env: lokiStart.env,
          entryPoint: lokiStart.entryPoint,
          command: lokiStart.command,
        }),
      },
      child,
    );

    // Grafana reads provisioning from a writable folder the entry point fills.
    const provisioning = '/tmp/provisioning';
    const grafanaStart = writeFilesThenExec(
      {
        [`${provisioning}/datasources/datasources.yml`]: renderDatasources({
          prometheusUrl: `http://${hostOf('prometheus')}:${PORTS.prometheus}`,
          lokiUrl: `http://${hostOf('loki')}:${PORTS.loki}`,
          scrapeInterval: `${args.scrapeIntervalSeconds}s`,
        }),
        [`${provisioning}/dashboards/dashboards.yml`]: renderDashboardProvider(IMAGE_DASHBOARDS_DIR),
      },
      ['/run.sh'],
    );
    new FargateService(
      `${args.prefix}-grafana`,
      {
        ...common,
        id: 'grafana',
        port: PORTS.grafana,
        securityGroupId: args.securityGroupIds.grafana,
        targetGroupArns: [args.targetGroupArns.grafana],
        container: pulumi.all([args.grafanaPasswordParameterArn, args.grafanaImage]).apply(([passwordArn, image]) =>
          appContainer({
            name: 'grafana',
            image,
            port: PORTS.grafana,
            env: {
              ...grafanaStart.env,
              GF_PATHS_PROVISIONING: provisioning,
              GF_SECURITY_ADMIN_USER: 'admin',
              GF_USERS_ALLOW_SIGN_UP: 'false',
              GF_AUTH_ANONYMOUS_ENABLED: 'false',
              GF_ANALYTICS_REPORTING_ENABLED: 'false',
            },
            secrets: [{ name: 'GF_SECURITY_ADMIN_PASSWORD', valueFrom: passwordArn }],
            entryPoint: grafanaStart.entryPoint,
            command: grafanaStart.command,
          }),
        ),
      },
      child,
    );
    this.registerOutputs({});
  }
}
