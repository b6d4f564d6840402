// Open-loop load: request i is due at start + i / rate whatever the earlier answers did, and its
// latency is timed from that due time (as wrk2 and k6's constant-arrival-rate do). A closed loop
// sends less while the server is slow, so its percentiles leave out the waiting ("coordinated
// omission") and flatter the slower variant; here a request that could not be sent on time because
// every connection was busy waits in the queue, and that wait is part of its latency.
import http from 'node:http';
import { cacheStatusHit, headerGetter, latencyFigures, latencyHistogram, type DriveResult, type HitClassifier } from './client-figures.ts';

export interface OpenLoopOptions {
  url: string;
  nextPath: () => string;
  length: { requests: number } | { durationMs: number };
  /** Most sockets open at once; requests beyond them wait their turn, on the clock. */
  connections: number;
  onTick?: (completed: number) => void;
  observeCacheStatus?: boolean;
  /** How a response says it was a cache hit (default: the lab edge's Cache-Status). */
  hitHeader?: HitClassifier;

  /** Requests per second across all connections. */
  rate: number;
}

/** Timers fire no more precisely than this; requests due within it are sent together. */
const TICK_MS = 2;

export async function driveOpenLoop(options: OpenLoopOptions): Promise<DriveResult> {
  const target = new URL(options.url);
  // At most `connections` sockets; requests beyond them queue in the agent, on the clock.
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.connections });
  const histogram = latencyHistogram();
  const statusClasses = { '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
  const cacheStatus = { hit: 0, other: 0 };
  let failures = 0;
  let completed = 0;
  let bytes = 0;
  const interval = 1000 / options.rate;
  const total = 'requests' in options.length ? options.length.requests : Math.floor((options.length.durationMs / 1000) * options.rate);
  const ticker = options.onTick ? setInterval(() => options.onTick!(completed), 1000) : undefined;

  const send = (path: string, dueAt: number) =>
    new Promise<void>((resolve) => {
      const request = http.request({ agent, host: target.hostname, port: target.port, path, method: 'GET' }, (response) => {
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () => {
          histogram.recordValue(Math.max(1, Math.round((performance.now() - dueAt) * 1000)));
          const status = response.statusCode ?? 0;
          const cls = `${Math.floor(status / 100)}xx` as keyof typeof statusClasses;
          if (cls in statusClasses) statusClasses[cls]++;
          if (options.observeCacheStatus) {
            if ((options.hitHeader ?? cacheStatusHit)(headerGetter(response.headers))) cacheStatus.hit++;
            else cacheStatus.other++;
          }
          completed++;
          resolve();
        });
        response.on('error', () => {
          failures++;
          resolve();
        });
      });
      request.on('error', () => {
        failures++;
        resolve();
      });
      request.end();
    });

  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  try {
    for (let i = 0; i < total; ) {
      const now = performance.now();
      // Everything due by now goes out, each timed from its own due time.
      while (i < total && started + i * interval <= now) {
        inFlight.push(send(options.nextPath(), started + i * interval));
        i++;
      }
      if (i < total) await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(TICK_MS, started + i * interval - performance.now()))));
    }
    await Promise.all(inFlight);
  } finally {
    if (ticker) clearInterval(ticker);
    agent.destroy();
  }
  const durationSeconds = (performance.now() - started) / 1000;
  try {
    return {
      requests: completed,
      durationSeconds,
      requestsPerSecond: completed / durationSeconds,
      bytes,
      errors: statusClasses['4xx'] + statusClasses['5xx'] + failures,
      statusClasses,
      ...latencyFigures(histogram),
      ...(options.observeCacheStatus ? { cacheStatus } : {}),
      latencyMode: 'open-loop',
    };
  } finally {
    histogram.destroy();
  }
}
