// Prometheus, Loki, Grafana Alloy and Grafana beside the lab, on the same network. Prometheus'
// scrape config and Grafana's provisioning come from @cdn-lab/grafana's renderers (the same ones
// the local backend uses); rules and dashboards are mounted from grafana/ as committed. Named
// volumes keep metrics, logs and Grafana's state across container restarts and replacements.
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as docker from '@pulumi/docker';
import {
  DASHBOARDS_MOUNT,
  GRAFANA_DIR,
  RULE_FILES,
  prometheusArgs,
  renderDashboardProvider,
  renderDatasources,
  renderPrometheusConfig,
  scrapeTargets,
} from '@cdn-lab/grafana';
import type { ServicePlan } from '../plan.ts';
import { containerLabels, serviceHealthcheck } from './container-common.ts';
import { dockerMetricsAddressOf, hostOf } from './lab-services.ts';

/** Pinned images of the observability stack. */
export const OBSERVABILITY_IMAGES = {
  prometheus: 'prom/prometheus:v3.5.0',
  loki: 'grafana/loki:3.5.5',
  alloy: 'grafana/alloy:v1.10.2',
  grafana: 'grafana/grafana:12.2.0',
} as const;

export const OBSERVABILITY_PORTS = { prometheus: 9090, loki: 3100, alloy: 12345, grafana: 3000 } as const;

/** The Alloy pipeline (Docker discovery → Loki) and Loki's config live with the other grafana/ configs. */
export const ALLOY_CONFIG = path.join(GRAFANA_DIR, 'alloy', 'config.alloy');
export const LOKI_CONFIG = path.join(GRAFANA_DIR, 'loki', 'loki.yml');

export interface DockerObservabilityArgs {
  prefix: string;
  stack: string;
  plans: ServicePlan[];
  networkName: pulumi.Input<string>;
  grafanaAdminPassword: pulumi.Input<string>;
  scrapeIntervalSeconds: number;
  publish: { ip: string; grafanaPort: number; prometheusPort: number };
  /** Services must exist before Prometheus scrapes and Alloy tails them (not required, but tidier). */
  dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export class DockerObservability extends pulumi.ComponentResource {
  readonly prometheusUrl: pulumi.Output<string>;
  readonly grafanaUrl: pulumi.Output<string>;
  readonly volumes: Record<'prometheus' | 'loki' | 'grafana' | 'alloy', docker.Volume>;

  constructor(name: string, args: DockerObservabilityArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:docker:Observability', name, {}, opts);
    const child = { parent: this };
    const volume = (kind: string) => new docker.Volume(`${name}-${kind}-data`, { name: `${args.prefix}-${kind}-data` }, child);
    this.volumes = { prometheus: volume('prometheus'), loki: volume('loki'), grafana: volume('grafana'), alloy: volume('alloy') };
    const network = (alias: string) => [{ name: args.networkName, aliases: [alias] }];
    const labels = (id: string) => containerLabels(args.stack, id, { service: id });
    const ruleMount = '/etc/prometheus/rules';

    const prometheusConfig = renderPrometheusConfig({
      targets: scrapeTargets(args.plans, (id) => dockerMetricsAddressOf(args.plans.find((plan) => plan.id === id)!)),
      scrapeIntervalSeconds: args.scrapeIntervalSeconds,
      ruleFiles: Object.values(RULE_FILES).map((file) => `${ruleMount}/${path.basename(file)}`),
      externalLabels: { lab: args.stack },
    });
    const prometheus = new docker.Container(
      `${name}-prometheus`,
      {
        name: `${args.prefix}-prometheus`,
        image: OBSERVABILITY_IMAGES.prometheus,
        command: prometheusArgs({
          configFile: '/etc/prometheus/prometheus.yml',
          dataDir: '/prometheus',
          listenAddress: `0.0.0.0:${OBSERVABILITY_PORTS.prometheus}`,
          retention: '7d',
        }),
        uploads: [{ file: '/etc/prometheus/prometheus.yml', content: prometheusConfig }],
        volumes: [
          { volumeName: this.volumes.prometheus.name, containerPath: '/prometheus' },
          { hostPath: path.join(GRAFANA_DIR, path.dirname(RULE_FILES.recording)), containerPath: ruleMount, readOnly: true },
        ],
        networksAdvanced: network('prometheus'),
        ports: [{ internal: OBSERVABILITY_PORTS.prometheus, external: args.publish.prometheusPort, ip: args.publish.ip }],
        labels: labels('prometheus'),
        healthcheck: serviceHealthcheck(['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${OBSERVABILITY_PORTS.prometheus}/-/ready`]),
        restart: 'unless-stopped',
      },
      { ...child, dependsOn: args.dependsOn ?? [] },
    );

    // Single binary, filesystem storage under /loki, structured metadata and retention (grafana/loki/loki.yml).
    const loki = new docker.Container(
      `${name}-loki`,
      {
        name: `${args.prefix}-loki`,
        image: OBSERVABILITY_IMAGES.loki,
        command: ['-config.file=/etc/loki/loki.yml'],
        volumes: [
          { volumeName: this.volumes.loki.name, containerPath: '/loki' },
          { hostPath: LOKI_CONFIG, containerPath: '/etc/loki/loki.yml', readOnly: true },
        ],
        networksAdvanced: network('loki'),
        labels: labels('loki'),
        restart: 'unless-stopped',
      },
      child,
    );

    // Alloy tails this lab's containers through the Docker socket (read-only) and pushes to Loki.
    new docker.Container(
      `${name}-alloy`,
      {
        name: `${args.prefix}-alloy`,
        image: OBSERVABILITY_IMAGES.alloy,
        command: ['run', '--storage.path=/var/lib/alloy/data', `--server.http.listen-addr=0.0.0.0:${OBSERVABILITY_PORTS.alloy}`, '/etc/alloy/config.alloy'],
        envs: [`CDN_LAB_STACK=${args.stack}`, `LOKI_PUSH_URL=http://loki:${OBSERVABILITY_PORTS.loki}/loki/api/v1/push`],
        volumes: [
          { volumeName: this.volumes.alloy.name, containerPath: '/var/lib/alloy/data' },
          { hostPath: ALLOY_CONFIG, containerPath: '/etc/alloy/config.alloy', readOnly: true },
          { hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock', readOnly: true },
        ],
        networksAdvanced: network('alloy'),
        labels: labels('alloy'),
        restart: 'unless-stopped',
      },
      { ...child, dependsOn: [loki] },
    );

    const grafana = new docker.Container(
      `${name}-grafana`,
      {
        name: `${args.prefix}-grafana`,
        image: OBSERVABILITY_IMAGES.grafana,
        // The password is a Pulumi secret: envs (and so the state) stay encrypted.
        envs: pulumi
          .secret(args.grafanaAdminPassword)
          .apply((password) => [
            'GF_SECURITY_ADMIN_USER=admin',
            `GF_SECURITY_ADMIN_PASSWORD=${password}`,
            'GF_USERS_ALLOW_SIGN_UP=false',
            'GF_AUTH_ANONYMOUS_ENABLED=false',
            'GF_ANALYTICS_REPORTING_ENABLED=false',
          ]),
        uploads: [
          {
            file: '/etc/grafana/provisioning/datasources/datasources.yml',
            content: renderDatasources({
              prometheusUrl: `http://prometheus:${OBSERVABILITY_PORTS.prometheus}`,
              lokiUrl: `http://loki:${OBSERVABILITY_PORTS.loki}`,
              scrapeInterval: `${args.scrapeIntervalSeconds}s`,
            }),
          },
          { file: '/etc/grafana/provisioning/dashboards/dashboards.yml', content: renderDashboardProvider(DASHBOARDS_MOUNT) },
        ],
        volumes: [
          { volumeName: this.volumes.grafana.name, containerPath: '/var/lib/grafana' },
          { hostPath: path.join(GRAFANA_DIR, 'dashboards'), containerPath: DASHBOARDS_MOUNT, readOnly: true },
        ],
        networksAdvanced: network('grafana'),
        ports: [{ internal: OBSERVABILITY_PORTS.grafana, external: args.publish.grafanaPort, ip: args.publish.ip }],
        labels: labels('grafana'),
        healthcheck: serviceHealthcheck(['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${OBSERVABILITY_PORTS.grafana}/api/health`]),
        restart: 'unless-stopped',
      },
      { ...child, dependsOn: [prometheus, loki] },
    );

    const host = hostOf(args.publish.ip);
    this.prometheusUrl = prometheus.id.apply(() => `http://${host}:${args.publish.prometheusPort}`);
    this.grafanaUrl = grafana.id.apply(() => `http://${host}:${args.publish.grafanaPort}`);
    this.registerOutputs({ prometheusUrl: this.prometheusUrl, grafanaUrl: this.grafanaUrl });
  }
}
