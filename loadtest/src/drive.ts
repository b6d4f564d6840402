// Drives a workload through a URL with autocannon's programmatic API and records every response's
// latency in an HDR histogram (autocannon's own summary has no p95).
import autocannon from 'autocannon';
import * as hdr from 'hdr-histogram-js';

export interface DriveOptions {
  url: string;
  nextPath: () => string;
  durationMs: number;
  connections: number;
  /** Called about once a second with the requests completed so far. */
  onTick?: (completed: number) => void;
  /** Requests per second across all connections (absent: as fast as the lab answers). */
  overallRate?: number;
  /**
   * Also count responses whose Cache-Status says the edge served them from cache: a client-side
   * check on the edges' own counters. Off by default: autocannon then buffers every body.
   */
  observeCacheStatus?: boolean;
}

export interface DriveResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  bytes: number;
  /** Responses with a status outside 2xx/3xx plus connection errors and timeouts. */
  errors: number;
  statusClasses: Record<'2xx' | '3xx' | '4xx' | '5xx', number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Latency distribution: [percentile, ms] points for a CDF chart. */
  latencyCdf: [number, number][];
  /** With observeCacheStatus: responses by what their Cache-Status header said. */
  cacheStatus?: { hit: number; other: number };
}

/** Percentiles sampled for the latency CDF: dense in the tail, where caching shows. */
export const CDF_PERCENTILES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 93, 95, 97, 98, 99, 99.5, 99.9, 100];

export async function drive(options: DriveOptions): Promise<DriveResult> {
  const histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
  let completed = 0;
  const cacheStatus = { hit: 0, other: 0 };
  const onResponse = (_status: number, _body: string, _context: object, headers: Record<string, string | string[] | undefined> | undefined) => {
    // RFC 9211: one member per cache, the one nearest the client last ("shield; hit, cdn-lab; fwd=miss");
    // the client-facing edge answered without its own fetch when its member says "hit" or "collapsed".
    const nearest = String(headers?.['cache-status'] ?? '').split(',').at(-1) ?? '';
    if (/;\s*(hit|collapsed)\s*(;|$)/.test(nearest)) cacheStatus.hit++;
    else cacheStatus.other++;
  };
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    duration: options.durationMs / 1000,
    ...(options.overallRate ? { overallRate: options.overallRate } : {}),
    // One request template whose path is drawn from the workload for every request.
    requests: [{ setupRequest: (request) => ({ ...request, path: options.nextPath() }), ...(options.observeCacheStatus ? { onResponse } : {}) }],
  });
  // autocannon passes (client, status, bytes, responseTime ms); its typings omit the client.
  (instance as unknown as NodeJS.EventEmitter).on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => {
    histogram.recordValue(Math.max(1, Math.round(ms * 1000)));
    completed++;
  });
  const ticker = options.onTick ? setInterval(() => options.onTick!(completed), 1000) : undefined;
  try {
    const result = await instance;
    const statusClasses = { '2xx': result['2xx'], '3xx': result['3xx'], '4xx': result['4xx'], '5xx': result['5xx'] };
    const toMs = (us: number) => us / 1000;
    return {
      requests: completed,
      durationSeconds: result.duration,
      requestsPerSecond: completed / result.duration,
      bytes: result.throughput.total,
      errors: result['4xx'] + result['5xx'] + result.errors + result.timeouts,
      statusClasses,
      latencyMs: {
        p50: toMs(histogram.getValueAtPercentile(50)),
        p95: toMs(histogram.getValueAtPercentile(95)),
        p99: toMs(histogram.getValueAtPercentile(99)),
        max: toMs(histogram.maxValue),
        mean: toMs(histogram.mean),
      },
      latencyCdf: CDF_PERCENTILES.map((p) => [p, toMs(histogram.getValueAtPercentile(p))]),
      ...(options.observeCacheStatus ? { cacheStatus } : {}),
    };
  } finally {
    if (ticker) clearInterval(ticker);
    histogram.destroy();
  }
}
