// Drives a workload through a URL and records every response's latency in an HDR histogram.
// Closed loop through autocannon's programmatic API (its own summary has no p95); open loop through
// a scheduler of our own (open-loop.ts), which times each request from when it was due.
import autocannon from 'autocannon';
import { cacheStatusHit, headerGetter, latencyFigures, latencyHistogram, type DriveResult, type HitClassifier } from './client-figures.ts';
import { driveOpenLoop } from './open-loop.ts';

export type { DriveResult } from './client-figures.ts';

/** How long a phase is: a number of requests, or (throughput-only runs) a time. */
export type PhaseLength = { requests: number } | { durationMs: number };

export interface DriveOptions {
  url: string;
  nextPath: () => string;
  length: PhaseLength;
  connections: number;
  /** Open loop: send at this rate whatever the answers do; latency from each intended send time. */
  openLoopRate?: number;
  /** Called about once a second with the requests completed so far. */
  onTick?: (completed: number) => void;
  /** Requests per second across all connections (absent: as fast as the lab answers). */
  overallRate?: number;
  /**
   * Also count responses whose Cache-Status says the edge served them from cache: a client-side
   * check on the edges' own counters. Off by default: autocannon then buffers every body.
   */
  observeCacheStatus?: boolean;
  /** How a response says it was a cache hit (default: the lab edge's Cache-Status). */
  hitHeader?: HitClassifier;
}

export async function drive(options: DriveOptions): Promise<DriveResult> {
  if (options.openLoopRate) return driveOpenLoop({ ...options, rate: options.openLoopRate });
  const histogram = latencyHistogram();
  let completed = 0;
  const cacheStatus = { hit: 0, other: 0 };
  const isHit = options.hitHeader ?? cacheStatusHit;
  const onResponse = (_status: number, _body: string, _context: object, headers: Record<string, string | string[] | undefined> | undefined) => {
    if (isHit(headerGetter(headers))) cacheStatus.hit++;
    else cacheStatus.other++;
  };
  const instance = autocannon({
    url: options.url,
    connections: options.connections,
    // `amount` ends the run after exactly that many requests, however fast the machine is.
    ...('requests' in options.length ? { amount: options.length.requests } : { duration: options.length.durationMs / 1000 }),
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
    return {
      requests: completed,
      durationSeconds: result.duration,
      requestsPerSecond: completed / result.duration,
      bytes: result.throughput.total,
      errors: result['4xx'] + result['5xx'] + result.errors + result.timeouts,
      statusClasses,
      ...latencyFigures(histogram),
      ...(options.observeCacheStatus ? { cacheStatus } : {}),
      latencyMode: 'closed-loop',
    };
  } finally {
    if (ticker) clearInterval(ticker);
    histogram.destroy();
  }
}
