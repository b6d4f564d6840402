// Metric conventions every service shares: the status-class label and the process metrics.
import { collectDefaultMetrics, type Registry } from 'prom-client';

/** The `code` label: a status class, never the exact status, to keep cardinality low. */
export const CODE_CLASSES = ['2xx', '3xx', '4xx', '5xx'] as const;
export type CodeClass = (typeof CODE_CLASSES)[number];

/** Index into CODE_CLASSES of a status (1xx and anything out of range count as 5xx). */
export function codeClassIndex(status: number): number {
  const hundreds = (status / 100) | 0;
  return hundreds >= 2 && hundreds <= 5 ? hundreds - 2 : 3;
}

export function codeClass(status: number): CodeClass {
  return CODE_CLASSES[codeClassIndex(status)] as CodeClass;
}

/**
 * prom-client's process and Node.js metrics on `registry`, under `prefix`. prom-client also names
 * three gauges `..._total`, which Prometheus reserves for counters (`promtool check metrics` rejects
 * them); they are removed, and the per-type series (`<prefix>nodejs_active_handles{type}` ...) remain.
 */
export function collectProcessMetrics(registry: Registry, prefix = ''): void {
  collectDefaultMetrics({ register: registry, prefix });
  for (const misnamed of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`${prefix}nodejs_${misnamed}`);
  }
}
