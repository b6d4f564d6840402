// The edge's Prometheus metrics (names in docs/contracts.md), on a Registry of its own. The two
// per-request counters are plain array additions folded into prom-client at scrape time (its
// labelled inc() hashes and validates the labels on every call, a measurable share of a cache hit);
// the other series are recorded through bound label children.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { CACHE_RESULTS as RESULTS, CODE_CLASSES, codeClassIndex, collectProcessMetrics, type CacheResult as Result } from '@cdn-lab/service-kit';
import { REMOVAL_REASONS, type RemovalReason } from './policies/types.ts';

// How the edge answered: service-kit's CACHE_RESULTS, shared with the rules and the comparisons.
export { RESULTS, type Result };
const RESULT_INDEX = Object.fromEntries(RESULTS.map((result, i) => [result, i])) as Record<Result, number>;

/** Where a miss went (the `upstream` label). */
export const UPSTREAM_KINDS = ['origin', 'parent', 'peer'] as const;
export type UpstreamKind = (typeof UPSTREAM_KINDS)[number];

/** Upstream outcome: a status class, or `error` when no response came back (refused, reset, timeout). */
export const UPSTREAM_CODES = [...CODE_CLASSES, 'error'] as const;
export type UpstreamCode = (typeof UPSTREAM_CODES)[number];

// Loopback hits take tens of microseconds; misses to a slow origin take seconds.
const DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface CacheGaugeSource {
  readonly bytes: number;
  readonly count: number;
  readonly capacityBytes: number;
}

export interface EdgeMetricsOptions {
  edgeId: string;
  policy: string;
  /** Read at scrape time for the cache gauges. */
  cache: CacheGaugeSource;
  /** Also export prom-client's process metrics, prefixed `edge_` (default true). */
  defaultMetrics?: boolean;
}

interface BoundUpstream {
  codes: Counter.Internal[];
  duration: Histogram.Internal<string>;
  bytes: Counter.Internal;
}

export class EdgeMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'result' | 'code'>;
  readonly responseBytes: Counter<'result'>;
  readonly requestDuration: Histogram<'result'>;
  readonly upstreamRequests: Counter<'upstream' | 'code'>;
  readonly upstreamDuration: Histogram<'upstream'>;
  readonly upstreamBytes: Counter<'upstream'>;
  readonly coalesced: Counter;
  readonly evictions: Counter<'reason'>;
  readonly upstreamUpGauge: Gauge<'upstream' | 'target'>;
  /** Requests since the last scrape, at [resultIndex * CODE_CLASSES.length + codeIndex]. */
  private readonly pendingRequests = new Float64Array(RESULTS.length * CODE_CLASSES.length);
  /** Response body bytes since the last scrape, at [resultIndex]. */
  private readonly pendingBytes = new Float64Array(RESULTS.length);
  private readonly durations: Histogram.Internal<string>[];
  private readonly upstream: Record<UpstreamKind, BoundUpstream>;
  private readonly evictionChildren: Record<RemovalReason, Counter.Internal>;

  constructor(options: EdgeMetricsOptions) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ edge: options.edgeId, policy: options.policy });
    if (options.defaultMetrics ?? true) {
      collectProcessMetrics(this.registry, 'edge_');
    }
    const pendingRequests = this.pendingRequests;
    const pendingBytes = this.pendingBytes;
    this.requests = new Counter({
      name: 'edge_requests_total',
      help: 'Client requests answered, by result and status class.',
      labelNames: ['result', 'code'],
      registers,
      collect() {
        pendingRequests.forEach((count, i) => {
          if (count === 0) return;
          this.inc({ result: RESULTS[Math.floor(i / CODE_CLASSES.length)], code: CODE_CLASSES[i % CODE_CLASSES.length] }, count);
          pendingRequests[i] = 0;
        });
      },
    });
    this.responseBytes = new Counter({
      name: 'edge_response_bytes_total',
      help: 'Body bytes sent to clients, by result.',
      labelNames: ['result'],
      registers,
      collect() {
        pendingBytes.forEach((bytes, i) => {
          if (bytes === 0) return;
          this.inc({ result: RESULTS[i] }, bytes);
          pendingBytes[i] = 0;
        });
      },
    });
    this.requestDuration = new Histogram({ name: 'edge_request_duration_seconds', help: 'Time from request to response end, by result.', labelNames: ['result'], buckets: DURATION_BUCKETS, registers });
    this.upstreamRequests = new Counter({ name: 'edge_upstream_requests_total', help: 'Requests sent upstream, by upstream kind and status class (error: no response).', labelNames: ['upstream', 'code'], registers });
    this.upstreamDuration = new Histogram({ name: 'edge_upstream_duration_seconds', help: 'Upstream exchange time (request to full body), by upstream kind.', labelNames: ['upstream'], buckets: DURATION_BUCKETS, registers });
    this.upstreamBytes = new Counter({ name: 'edge_upstream_bytes_total', help: 'Body bytes received from upstream, by upstream kind.', labelNames: ['upstream'], registers });
    this.coalesced = new Counter({ name: 'edge_coalesced_requests_total', help: 'Client requests that waited for another request\'s upstream fetch instead of making their own.', registers });
    this.evictions = new Counter({ name: 'edge_cache_evictions_total', help: 'Entries that left the cache, by policy removal reason.', labelNames: ['reason'], registers });
    this.upstreamUpGauge = new Gauge({
      name: 'edge_upstream_up',
      help: 'Upstream health per base URL: 1 in use, 0 marked down after UPSTREAM_MAX_FAILS consecutive failures.',
      labelNames: ['upstream', 'target'],
      // With EDGE_WORKERS > 1 the workers' series are summed (workers.ts); an upstream is up only if every worker uses it.
      aggregator: 'min',
      registers,
    });
    const cache = options.cache;
    new Gauge({ name: 'edge_cache_bytes', help: 'Bytes held in the cache.', registers, collect() { this.set(cache.bytes); } });
    new Gauge({ name: 'edge_cache_objects', help: 'Entries held in the cache.', registers, collect() { this.set(cache.count); } });
    new Gauge({ name: 'edge_cache_capacity_bytes', help: 'Byte budget of the cache.', registers, collect() { this.set(cache.capacityBytes); } });

    // Every known label combination exists at zero, so dashboards have series before the first event.
    for (const result of RESULTS) {
      this.responseBytes.labels(result).inc(0);
      for (const code of CODE_CLASSES) this.requests.labels(result, code).inc(0);
    }
    this.durations = RESULTS.map((result) => this.requestDuration.labels(result));
    this.upstream = {} as Record<UpstreamKind, BoundUpstream>;
    for (const kind of UPSTREAM_KINDS) {
      const codes = UPSTREAM_CODES.map((code) => {
        const child = this.upstreamRequests.labels(kind, code);
        child.inc(0);
        return child;
      });
      const bytes = this.upstreamBytes.labels(kind);
      bytes.inc(0);
      this.upstream[kind] = { codes, duration: this.upstreamDuration.labels(kind), bytes };
    }
    this.evictionChildren = {} as Record<RemovalReason, Counter.Internal>;
    for (const reason of REMOVAL_REASONS) {
      const child = this.evictions.labels(reason);
      child.inc(0);
      this.evictionChildren[reason] = child;
    }
    this.coalesced.inc(0);
  }

  /** Records one answered client request (exactly once per request). */
  request(result: Result, status: number, seconds: number, bodyBytes: number): void {
    const resultIndex = RESULT_INDEX[result];
    (this.pendingRequests[resultIndex * CODE_CLASSES.length + codeClassIndex(status)] as number) += 1;
    (this.pendingBytes[resultIndex] as number) += bodyBytes;
    (this.durations[resultIndex] as Histogram.Internal<string>).observe(seconds);
  }

  /** Records one upstream exchange (exactly once per request sent upstream); status undefined = no response. */
  upstreamExchange(kind: UpstreamKind, status: number | undefined, seconds: number, bodyBytes: number): void {
    const bound = this.upstream[kind];
    (bound.codes[status === undefined ? 4 : codeClassIndex(status)] as Counter.Internal).inc();
    bound.duration.observe(seconds);
    if (bodyBytes > 0) bound.bytes.inc(bodyBytes);
  }

  /** Sets an upstream base URL's health gauge (on every transition, and at start). */
  upstreamUp(kind: UpstreamKind, target: string, up: boolean): void {
    this.upstreamUpGauge.labels(kind, target).set(up ? 1 : 0);
  }

  eviction(reason: RemovalReason): void {
    this.evictionChildren[reason].inc();
  }
}
