// The large-objects scenario (issue 17): clients fetch, all at once, responses far larger than the
// edge's cache (by default 4 concurrent 64 MiB responses through an edge with a 64 MiB cache, two
// rounds), then the edge's peak resident memory is read from /proc. An edge that buffers whole
// bodies holds all of them at once (the issue measured RSS 80 -> 472 MiB); a streaming edge passes
// them through (over MAX_OBJECT_BYTES, never stored) with a socket buffer or two each in memory.
// Goal: the peak stays within the idle RSS plus the cache budget.
import { originEnv } from '@cdn-lab/origin/config';
import { scrapeMetrics, sumMetric } from '../scrape.ts';
import { startOrigin, startProxy, type EdgeLogDestination } from './proxies.ts';
import { proxyContext, type BenchEnvironment } from './run.ts';

export interface LargeObjectsOptions {
  /** The edge's CACHE_BYTES (its MAX_OBJECT_BYTES stays at the default). */
  cacheBytes: number;
  /** Size of every response (the origin's `?size=`, at most 64 MiB). */
  objectBytes: number;
  /** Responses in flight at once, each for its own URL. */
  concurrency: number;
  /** How many times the same URLs are fetched: a response that was stored would be a hit the second time. */
  rounds: number;
  edgeLog: EdgeLogDestination;
}

export interface LargeObjectsResult {
  cacheBytes: number;
  objectBytes: number;
  concurrency: number;
  rounds: number;
  /** The edge's RSS right after start, before any request. */
  idleRssBytes: number;
  /** VmHWM after the run: the most the edge ever held resident. */
  peakRssBytes: number;
  /** RSS after the run. */
  rssBytes: number;
  bytesReceived: number;
  failedRequests: number;
  /** What went wrong with the failed requests (first few). */
  failures: string[];
  fetchMs: number;
  /** What the edge did, from its own metrics. */
  edgeCacheObjects: number;
  upstreamRequests: number;
  /** Peak RSS must stay under this: idle RSS + cacheBytes. */
  limitBytes: number;
  pass: boolean;
}

/** Reads a response body to its end, counting bytes and keeping none. */
async function drain(response: Response): Promise<number> {
  let bytes = 0;
  if (response.body === null) return 0;
  for await (const chunk of response.body) bytes += (chunk as Uint8Array).byteLength;
  return bytes;
}

export async function runLargeObjectsScenario(options: LargeObjectsOptions, env: BenchEnvironment): Promise<LargeObjectsResult> {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  env.log(`large-objects: ${options.concurrency} concurrent ${mib(options.objectBytes)} responses x ${options.rounds} rounds through an edge with a ${mib(options.cacheBytes)} cache`);
  // The origin keeps every body it generated, and generates them before the measurement (directly,
  // not through the edge): a busy origin making four 64 MiB bodies at once answered late enough for
  // the edge's upstream timeout.
  const origin = await startOrigin({
    env: originEnv({ catalogueObjects: 1000, latencyMs: 0, bodyCacheBytes: options.concurrency * options.objectBytes + 2 ** 20 }),
    pinning: env.cores.loadgen,
    logDir: env.logDir,
  });
  const urlOf = (base: string, i: number) => `${base}/obj/${i + 1}?size=${options.objectBytes}`;
  for (let i = 0; i < options.concurrency; i++) await drain(await fetch(urlOf(origin.url, i)));
  const ctx = proxyContext(env, origin.port, { cacheBytes: options.cacheBytes, edgeLog: options.edgeLog, edgeExecArgv: [] });
  try {
    const edge = await startProxy('edge', ctx);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const idle = await edge.memory();
      const idleRssBytes = idle?.rssBytes ?? Number.NaN;
      let bytesReceived = 0;
      let failed = 0;
      const failures: string[] = [];
      const fail = (why: string) => {
        failed++;
        if (failures.length < 5) failures.push(why);
      };
      const started = performance.now();
      for (let round = 0; round < options.rounds; round++) {
        await Promise.all(
          Array.from({ length: options.concurrency }, async (_, i) => {
            try {
              const response = await fetch(urlOf(edge.url, i), { signal: AbortSignal.timeout(120_000) });
              const bytes = await drain(response);
              bytesReceived += bytes;
              if (response.status !== 200 || bytes !== options.objectBytes) fail(`status ${response.status}, ${bytes} bytes`);
            } catch (error) {
              fail(String((error as Error).cause ?? (error as Error).message));
            }
          }),
        );
      }
      const fetchMs = performance.now() - started;
      const memory = await edge.memory();
      const metrics = await scrapeMetrics(edge.url);
      const peakRssBytes = memory?.peakRssBytes ?? Number.NaN;
      const limitBytes = idleRssBytes + options.cacheBytes;
      const result: LargeObjectsResult = {
        cacheBytes: options.cacheBytes,
        objectBytes: options.objectBytes,
        concurrency: options.concurrency,
        rounds: options.rounds,
        idleRssBytes,
        peakRssBytes,
        rssBytes: memory?.rssBytes ?? Number.NaN,
        bytesReceived,
        failedRequests: failed,
        failures,
        fetchMs,
        edgeCacheObjects: sumMetric(metrics, 'edge_cache_objects'),
        upstreamRequests: sumMetric(metrics, 'edge_upstream_requests_total'),
        limitBytes,
        pass: failed === 0 && peakRssBytes < limitBytes,
      };
      env.log(largeObjectsLine(result));
      return result;
    } finally {
      await edge.stop();
    }
  } finally {
    await origin.stop();
  }
}

export function largeObjectsLine(result: LargeObjectsResult): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return (
    `large-objects: edge peak RSS ${mib(result.peakRssBytes)} (idle ${mib(result.idleRssBytes)}, +${mib(result.peakRssBytes - result.idleRssBytes)}; ` +
    `after ${mib(result.rssBytes)}) for ${result.concurrency} concurrent ${mib(result.objectBytes)} responses x ${result.rounds} rounds ` +
    `(${mib(result.bytesReceived)} received in ${(result.fetchMs / 1000).toFixed(1)} s, ${result.failedRequests} failed; ` +
    `${result.upstreamRequests} upstream requests, ${result.edgeCacheObjects} objects stored; CACHE_BYTES ${mib(result.cacheBytes)})` +
    (result.failures.length > 0 ? ` [${result.failures.join('; ')}]` : '') +
    ': ' +
    `goal peak < idle + cache = ${mib(result.limitBytes)} ${result.pass ? 'met' : 'NOT met'}`
  );
}
