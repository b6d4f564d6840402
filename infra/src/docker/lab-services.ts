// The lab's services as containers on one private Docker network: origins, (shield,) edges and the
// front door, which is either the lab's own balancer or nginx rendered from the same algorithm.
// Every container's environment comes from planServices/resolveEnv, exactly as in the local lab;
// Docker only decides addressing: each service is reachable at http://<id>:8080 on the network.
import * as pulumi from '@pulumi/pulumi';
import * as docker from '@pulumi/docker';
import { operatorEnv, resolveEnv, type OperatorSettings, type ServiceKind, type ServicePlan } from '../plan.ts';
import type { BalancerAlgorithm } from '../topology.ts';
import { renderNginxConfig } from '../render/nginx.ts';
import { BALANCER_METRICS_PORT, SERVICE_PORT } from '../components/stack-config.ts';
import type { ServiceImage } from '../components/service-images.ts';
import { containerLabels, serviceHealthcheck } from './container-common.ts';

/** Unprivileged nginx: listens on 8080 and keeps its pid and temp files in /tmp. */
export const NGINX_IMAGE = 'nginxinc/nginx-unprivileged:1.29-alpine';

/** How a service is addressed on the lab network. */
export const dockerUrlOf = (id: string) => `http://${id}:${SERVICE_PORT}`;

export interface DockerLabServicesArgs {
  /** Prefix of container names (unique per Docker host), e.g. `cdn-lab-docker`. */
  prefix: string;
  /** Stack name: a label Alloy uses to find this lab's containers. */
  stack: string;
  plans: ServicePlan[];
  images: Record<ServiceKind, ServiceImage>;
  networkName: pulumi.Input<string>;
  frontDoor: 'lab' | 'nginx';
  algorithm: BalancerAlgorithm;
  /** Host address and port the front door is published on (the only service port on the host). */
  publish: { ip: string; port: number };
  logLevel?: string;
  /** Admin token and fleet secret (from the stack's secret config), when set. */
  secrets?: Pick<OperatorSettings<pulumi.Input<string>>, 'adminToken' | 'fleetSecret'>;
}

/** How Prometheus reaches a service's /metrics on the lab network: the balancer's own listener, or the service port. */
export const dockerMetricsAddressOf = (plan: Pick<ServicePlan, 'id' | 'kind'>) =>
  `${plan.id}:${plan.kind === 'balancer' ? BALANCER_METRICS_PORT : SERVICE_PORT}`;

export class DockerLabServices extends pulumi.ComponentResource {
  readonly containers: Record<string, docker.Container>;
  /** The CDN's entry point on the host. */
  readonly cdnUrl: pulumi.Output<string>;

  constructor(name: string, args: DockerLabServicesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:docker:LabServices', name, {}, opts);
    this.containers = {};
    for (const plan of args.plans) {
      const front = plan.kind === 'balancer';
      const published = front ? [{ internal: SERVICE_PORT, external: args.publish.port, ip: args.publish.ip }] : [];
      const network = { name: args.networkName, aliases: [plan.id] };
      // Services start after what they link to (plans are in start order), like the local lab.
      // (A sharded edge's peers may come later: those links are not waited for.)
      const dependsOn = Object.values(plan.links)
        .flat()
        .flatMap((id) => (this.containers[id] ? [this.containers[id]] : []));
      let container: docker.Container;
      if (front && args.frontDoor === 'nginx') {
        const backends = Object.values(plan.links)
          .flat()
          .map((id) => ({ id, host: id, port: SERVICE_PORT }));
        container = new docker.Container(
          `${name}-${plan.id}`,
          {
            name: `${args.prefix}-${plan.id}`,
            image: NGINX_IMAGE,
            uploads: [
              { file: '/etc/nginx/nginx.conf', content: renderNginxConfig({ algorithm: args.algorithm, backends, listenPort: SERVICE_PORT }) },
            ],
            networksAdvanced: [network],
            ports: published,
            labels: containerLabels(args.stack, plan.id, { ...plan.labels, lb: 'nginx' }),
            healthcheck: serviceHealthcheck(['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${SERVICE_PORT}/healthz`]),
            restart: 'unless-stopped',
          },
          { parent: this, dependsOn },
        );
      } else {
        const image = args.images[plan.kind];
        const operator = operatorEnv(plan, { ...args.secrets, balancerMetrics: { port: BALANCER_METRICS_PORT, host: '0.0.0.0' } });
        const env: Record<string, string> = {
          ...resolveEnv(plan, dockerUrlOf),
          ...operator.env,
          HOST: '0.0.0.0',
          PORT: String(SERVICE_PORT),
          ...(args.logLevel ? { LOG_LEVEL: args.logLevel } : {}),
        };
        const envs: pulumi.Input<string>[] = [
          ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
          ...Object.entries(operator.secrets).map(([key, value]) => pulumi.interpolate`${key}=${value}`),
        ];
        container = new docker.Container(
          `${name}-${plan.id}`,
          {
            name: `${args.prefix}-${plan.id}`,
            image: image.ref,
            envs,
            networksAdvanced: [network],
            ports: published,
            // The digest label changes with the image, so a rebuild replaces the container.
            labels: [...containerLabels(args.stack, plan.id, plan.labels), { label: 'cdn-lab.image-digest', value: image.digest }],
            // The image's own HEALTHCHECK applies; `wait` makes `pulumi up` wait until it passes.
            wait: true,
            waitTimeout: 60,
            // `docker stop` waits this long after SIGTERM before SIGKILL (default 10 s): the drain's grace and a margin.
            stopTimeout: Math.ceil(plan.drainGraceMs / 1000) + 5,
            restart: 'unless-stopped',
          },
          { parent: this, dependsOn },
        );
      }
      this.containers[plan.id] = container;
    }
    this.cdnUrl = pulumi.output(`http://${hostOf(args.publish.ip)}:${args.publish.port}`);
    this.registerOutputs({ cdnUrl: this.cdnUrl });
  }
}

/** A URL host for a bind address (0.0.0.0 means "this machine"). */
export function hostOf(ip: string): string {
  if (ip === '0.0.0.0' || ip === '::') return 'localhost';
  return ip.includes(':') ? `[${ip}]` : ip;
}
