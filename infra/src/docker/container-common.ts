// What every container of the Docker stack shares: labels (Alloy turns them into Loki stream
// labels) and health-check timing.
import type * as docker from '@pulumi/docker';

/** Label prefix; Alloy sees `cdn-lab.edge` as `__meta_docker_container_label_cdn_lab_edge`. */
export const LABEL_PREFIX = 'cdn-lab';

/** `cdn-lab.stack`, `cdn-lab.id` and the plan's low-cardinality labels, as Docker labels. */
export function containerLabels(stack: string, id: string, labels: Record<string, string>): docker.types.input.ContainerLabel[] {
  const all: Record<string, string> = { stack, id, ...labels };
  return Object.entries(all).map(([name, value]) => ({ label: `${LABEL_PREFIX}.${name}`, value }));
}

export function serviceHealthcheck(tests: string[]): docker.types.input.ContainerHealthcheck {
  return { tests, interval: '5s', timeout: '3s', startPeriod: '10s', retries: 3 };
}
