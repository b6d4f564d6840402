// The Docker stack: images built from the repository's Dockerfile, one private network, the
// lab's services from the topology's plan, and the observability stack. Returns the stack outputs.
import * as pulumi from '@pulumi/pulumi';
import * as docker from '@pulumi/docker';
import { planServices } from '../plan.ts';
import type { Topology } from '../topology.ts';
import { nginxSupports } from '../render/nginx.ts';
import { ConfigError } from '@cdn-lab/service-kit';
import { ServiceImages, SERVICE_KINDS } from '../components/service-images.ts';
import type { DockerSettings } from '../components/stack-config.ts';
import { SERVICE_PROGRAMS, type ServiceKind } from '../plan.ts';
import { DockerLabServices, type DockerLabServicesArgs } from './lab-services.ts';
import { DockerObservability } from './observability.ts';

export interface StackOutputs {
  cdnUrl: pulumi.Output<string>;
  grafanaUrl: pulumi.Output<string>;
  prometheusUrl: pulumi.Output<string>;
}

export interface DockerStackInput {
  stack: string;
  topology: Topology;
  docker: DockerSettings;
  grafanaAdminPassword: pulumi.Input<string>;
  /** The services' admin token and fleet secret, when the stack sets them. */
  secrets?: DockerLabServicesArgs['secrets'];
}

export function dockerStack({ stack, topology, docker: settings, grafanaAdminPassword, secrets }: DockerStackInput): StackOutputs {
  if (settings.balancer === 'nginx' && !nginxSupports(topology.balancer.algorithm)) {
    throw new ConfigError('stack configuration', [
      `cdn-lab:docker.balancer: nginx cannot balance with "${topology.balancer.algorithm}" (cdn-lab:topology.balancer.algorithm); use balancer "lab" or another algorithm`,
    ]);
  }
  const prefix = `cdn-lab-${stack}`;
  if (topology.edges.software !== 'cdn-lab') {
    throw new ConfigError('stack configuration', [
      `cdn-lab:topology.edges.software: the docker stack runs the lab's own edge only; "${topology.edges.software}" edges run in the local lab (npm run lab)`,
    ]);
  }
  const plans = planServices(topology);

  const network = new docker.Network('lab-network', {
    name: `${prefix}-net`,
    driver: 'bridge',
    labels: [{ label: 'cdn-lab.stack', value: stack }],
  });

  const repositories = Object.fromEntries(
    SERVICE_KINDS.map((kind) => [kind, `cdn-lab/${SERVICE_PROGRAMS[kind].workspace}`]),
  ) as Record<ServiceKind, string>;
  const { images } = new ServiceImages('lab-images', { repositories, tag: settings.imageTag, push: false });

  const services = new DockerLabServices('lab', {
    prefix,
    stack,
    plans,
    images,
    networkName: network.name,
    frontDoor: settings.balancer,
    algorithm: topology.balancer.algorithm,
    publish: { ip: settings.bindAddress, port: settings.ports.cdn },
    ...(secrets ? { secrets } : {}),
  });

  const observability = new DockerObservability('observability', {
    prefix,
    stack,
    // nginx serves no /metrics of its own (its / would proxy an edge's): scrape the lab's services only.
    plans: settings.balancer === 'nginx' ? plans.filter((plan) => plan.kind !== 'balancer') : plans,
    networkName: network.name,
    grafanaAdminPassword,
    scrapeIntervalSeconds: settings.scrapeIntervalSeconds,
    publish: { ip: settings.bindAddress, grafanaPort: settings.ports.grafana, prometheusPort: settings.ports.prometheus },
    dependsOn: [services],
  });

  return { cdnUrl: services.cdnUrl, grafanaUrl: observability.grafanaUrl, prometheusUrl: observability.prometheusUrl };
}
