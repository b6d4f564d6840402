// The origin's Prometheus metrics (names in docs/contracts.md), on a Registry of its own.
import { Counter, Histogram, Registry } from 'prom-client';
import { CODE_CLASSES, codeClass, collectProcessMetrics } from '@cdn-lab/service-kit';

/** The `route` label: a closed set, never a URL. */
export const ROUTES = ['obj', 'short', 'nostore', 'healthz', 'metrics', 'admin', 'other'] as const;
export type Route = (typeof ROUTES)[number];

export const FAULT_KINDS = ['error', 'down', 'latency'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Route label of a request path (the path's first segment). */
export function routeOf(path: string): Route {
  const slash = path.indexOf('/', 1);
  const first = slash === -1 ? path.slice(1) : path.slice(1, slash);
  switch (first) {
    case 'obj':
    case 'short':
    case 'nostore':
    case 'healthz':
    case 'metrics':
      return first;
    case '_admin':
      return 'admin';
    default:
      return 'other';
  }
}

// Loopback answers take well under a millisecond; injected latency reaches seconds.
const DURATION_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface OriginMetricsOptions {
  originId: string;
  /** Also export prom-client's process metrics, prefixed `origin_` (default true). */
  defaultMetrics?: boolean;
}

export interface OriginMetrics {
  registry: Registry;
  requests: Counter<'route' | 'code'>;
  duration: Histogram<'route'>;
  responseBytes: Counter<'route'>;
  faults: Counter<'kind'>;
  /** Records one finished (or abandoned) request. */
  observe(route: Route, status: number, seconds: number, bytes: number): void;
}

export function createOriginMetrics(options: OriginMetricsOptions): OriginMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ origin: options.originId });
  const registers = [registry];
  const requests = new Counter({
    name: 'origin_http_requests_total',
    help: 'HTTP requests answered by the origin, by route and status class.',
    labelNames: ['route', 'code'] as const,
    registers,
  });
  const duration = new Histogram({
    name: 'origin_http_request_duration_seconds',
    help: 'Time from request arrival to the end of the response, including injected latency.',
    labelNames: ['route'] as const,
    buckets: DURATION_BUCKETS,
    registers,
  });
  const responseBytes = new Counter({
    name: 'origin_response_bytes_total',
    help: 'Response body bytes sent by the origin (0 for HEAD and 304).',
    labelNames: ['route'] as const,
    registers,
  });
  const faults = new Counter({
    name: 'origin_faults_injected_total',
    help: 'Injected faults: error (500 from ERROR_RATE), down (503), latency (a delayed response).',
    labelNames: ['kind'] as const,
    registers,
  });
  // Every known series exists from the start, so rates and dashboards have data before traffic.
  for (const route of ROUTES) {
    for (const code of CODE_CLASSES) requests.inc({ route, code }, 0);
    duration.zero({ route });
    responseBytes.inc({ route }, 0);
  }
  for (const kind of FAULT_KINDS) faults.inc({ kind }, 0);
  if (options.defaultMetrics ?? true) {
    collectProcessMetrics(registry, 'origin_');
  }

  return {
    registry,
    requests,
    duration,
    responseBytes,
    faults,
    observe(route, status, seconds, bytes) {
      requests.inc({ route, code: codeClass(status) });
      duration.observe({ route }, seconds);
      if (bytes > 0) responseBytes.inc({ route }, bytes);
    },
  };
}
