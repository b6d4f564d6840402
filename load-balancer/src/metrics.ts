// The balancer's Prometheus metrics, on its own Registry (names per docs/contracts.md).
// Every known label combination exists at zero from the start, so dashboards have series before
// the first request; `up` and `in_flight` are read from the backends at scrape time.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CODE_CLASSES, codeClass, collectProcessMetrics } from '@cdn-lab/service-kit';
import type { Backend } from './algorithms/types.ts';

/**
 * Why a backend failed, a closed set (the `reason` label):
 * connect - could not connect (refused, unreachable); reset - connection dropped before a response;
 * timeout - no response within PROXY_TIMEOUT_MS; aborted - dropped mid-response;
 * health_check - an active health check failed.
 */
export const BACKEND_ERROR_REASONS = ['connect', 'reset', 'timeout', 'aborted', 'health_check'] as const;
export type BackendErrorReason = (typeof BACKEND_ERROR_REASONS)[number];

/** `backend` label of requests no backend could take (all down). */
export const NO_BACKEND = 'none';

/** Proxied latencies from a sub-millisecond cache hit to a slow origin fetch. */
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface BalancerMetrics {
  readonly registry: Registry;
  /** Counts one finished request and its duration. `backend` is an id or NO_BACKEND. */
  observeRequest(backend: string, status: number, seconds: number): void;
  backendError(backend: string, reason: BackendErrorReason): void;
  /** Counts a request routed in panic mode (no backend healthy: all of them tried). */
  panicRouted(): void;
}

export interface MetricsOptions {
  lbId: string;
  algorithm: string;
  backends: readonly Backend[];
  /** Process and Node.js runtime metrics (CPU, memory, event-loop lag); default true. */
  processMetrics?: boolean;
}

export function createMetrics(options: MetricsOptions): BalancerMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ lb: options.lbId, algorithm: options.algorithm });
  if (options.processMetrics ?? true) {
    collectProcessMetrics(registry);
  }
  const backends = options.backends;

  const requests = new Counter({
    name: 'lb_requests_total',
    help: 'Proxied requests by backend and response status class.',
    labelNames: ['backend', 'code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'lb_request_duration_seconds',
    help: 'Time from receiving a request to the end of its response, by backend.',
    labelNames: ['backend'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  new Gauge({
    name: 'lb_backend_up',
    help: 'Whether the backend is in rotation (1) or taken out by health checks (0).',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      for (const backend of backends) this.set({ backend: backend.id }, backend.healthy ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lb_backend_in_flight',
    help: 'Requests sent to the backend and not yet finished.',
    labelNames: ['backend'] as const,
    registers: [registry],
    collect() {
      for (const backend of backends) this.set({ backend: backend.id }, backend.inFlight);
    },
  });
  const errors = new Counter({
    name: 'lb_backend_errors_total',
    help: 'Backend failures seen by the proxy or the health checks, by reason.',
    labelNames: ['backend', 'reason'] as const,
    registers: [registry],
  });

  const panic = new Counter({
    name: 'lb_panic_routed_requests_total',
    help: 'Requests routed while no backend passed its health checks (every backend treated as healthy).',
    registers: [registry],
  });

  for (const backend of backends) {
    for (const code of CODE_CLASSES) requests.inc({ backend: backend.id, code }, 0);
    for (const reason of BACKEND_ERROR_REASONS) errors.inc({ backend: backend.id, reason }, 0);
    duration.zero({ backend: backend.id });
  }
  // Requests refused before any backend was chosen: malformed (4xx) or none healthy (5xx).
  requests.inc({ backend: NO_BACKEND, code: '4xx' }, 0);
  requests.inc({ backend: NO_BACKEND, code: '5xx' }, 0);
  duration.zero({ backend: NO_BACKEND });

  return {
    registry,
    observeRequest(backend, status, seconds) {
      requests.inc({ backend, code: codeClass(status) });
      duration.observe({ backend }, seconds);
    },
    backendError(backend, reason) {
      errors.inc({ backend, reason });
    },
    panicRouted() {
      panic.inc();
    },
  };
}
