// The memory scenario: fill the edge's cache (CACHE_BYTES, 256 MiB by default) past capacity with
// distinct objects of the origin's default size mix, then read the edge's resident memory from /proc.
// Goal (issue 8): RSS under 400 MiB with 256 MiB of bodies cached.
import { catalogueSpecOf, originConfig, originEnv } from '@cdn-lab/origin/config';
import { objectSize } from '@cdn-lab/origin/catalogue';
import { scrapeMetrics, sumMetric } from '../scrape.ts';
import { startOrigin, startProxy, type EdgeLogDestination } from './proxies.ts';
import { proxyContext, type BenchEnvironment } from './run.ts';

export interface MemoryOptions {
  cacheBytes: number;
  /** Bytes requested, as a multiple of cacheBytes: above 1 so the cache is full and evicting. */
  fillFactor: number;
  /** Concurrent requests while filling. */
  concurrency: number;
  /** RSS the edge must stay under. */
  limitBytes: number;
  edgeLog: EdgeLogDestination;
}

export interface MemoryResult {
  cacheBytes: number;
  /** The edge's RSS and V8 heap right after start, before any request: the fixed cost. */
  idleRssBytes: number;
  idleHeapUsedBytes: number;
  objectsRequested: number;
  bytesRequested: number;
  fillMs: number;
  failedRequests: number;
  /** The edge's own gauges after the fill. */
  edgeCacheBytes: number;
  edgeCacheObjects: number;
  rssBytes: number;
  peakRssBytes: number;
  /** Where the RSS goes, from the edge's prom-client process gauges (NaN where absent). */
  heapUsedBytes: number;
  heapTotalBytes: number;
  /** Memory outside the V8 heap that V8 knows of: Buffers (ArrayBuffers) above all. */
  externalBytes: number;
  limitBytes: number;
  pass: boolean;
}

/** Seed and size mix of the origin's defaults: median 6 KiB, lognormal body, Pareto tail up to 2 MiB. */
const FILL_ORIGIN = originConfig({ catalogueObjects: 100_000_000, latencyMs: 0 });

/** The first ids whose sizes add up to at least `bytes` (sizes are pure functions of the id). */
export function idsToFill(bytes: number, spec = catalogueSpecOf(FILL_ORIGIN)): { count: number; bytes: number } {
  let total = 0;
  let count = 0;
  while (total < bytes) total += objectSize(spec, count++);
  return { count, bytes: total };
}

export async function runMemoryScenario(options: MemoryOptions, env: BenchEnvironment): Promise<MemoryResult> {
  const spec = catalogueSpecOf(FILL_ORIGIN);
  const fill = idsToFill(options.cacheBytes * options.fillFactor, spec);
  env.log(`memory: filling a ${(options.cacheBytes / 2 ** 20).toFixed(0)} MiB edge cache with ${fill.count} objects (${(fill.bytes / 2 ** 20).toFixed(0)} MiB)`);
  const origin = await startOrigin({
    env: originEnv({ catalogueObjects: FILL_ORIGIN.catalogueObjects, latencyMs: 0 }),
    pinning: env.cores.loadgen,
    logDir: env.logDir,
  });
  const ctx = proxyContext(env, origin.port, { cacheBytes: options.cacheBytes, edgeLog: options.edgeLog, edgeExecArgv: [] });
  try {
    const edge = await startProxy('edge', ctx);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const idleMemory = await edge.memory();
      const idleMetrics = await scrapeMetrics(edge.url);
      const idleHeapUsedBytes = idleMetrics.has('edge_nodejs_heap_size_used_bytes') ? sumMetric(idleMetrics, 'edge_nodejs_heap_size_used_bytes') : NaN;
      const started = performance.now();
      let next = 0;
      let failed = 0;
      const worker = async () => {
        while (next < fill.count) {
          const id = next++;
          try {
            const response = await fetch(`${edge.url}/obj/${id}`, { signal: AbortSignal.timeout(30_000) });
            const body = await response.arrayBuffer();
            if (response.status !== 200 || body.byteLength !== objectSize(spec, id)) failed++;
          } catch {
            failed++;
          }
        }
      };
      await Promise.all(Array.from({ length: options.concurrency }, worker));
      const fillMs = performance.now() - started;
      // Let the edge finish storing the last bodies and settle before reading its memory.
      await new Promise((r) => setTimeout(r, 1000));
      const memory = await edge.memory();
      const metrics = await scrapeMetrics(edge.url);
      const rssBytes = memory?.rssBytes ?? NaN;
      const gauge = (name: string) => (metrics.has(name) ? sumMetric(metrics, name) : NaN);
      const result: MemoryResult = {
        cacheBytes: options.cacheBytes,
        idleRssBytes: idleMemory?.rssBytes ?? NaN,
        idleHeapUsedBytes,
        objectsRequested: fill.count,
        bytesRequested: fill.bytes,
        fillMs,
        failedRequests: failed,
        edgeCacheBytes: sumMetric(metrics, 'edge_cache_bytes'),
        edgeCacheObjects: sumMetric(metrics, 'edge_cache_objects'),
        rssBytes,
        peakRssBytes: memory?.peakRssBytes ?? NaN,
        heapUsedBytes: gauge('edge_nodejs_heap_size_used_bytes'),
        heapTotalBytes: gauge('edge_nodejs_heap_size_total_bytes'),
        externalBytes: gauge('edge_nodejs_external_memory_bytes'),
        limitBytes: options.limitBytes,
        pass: rssBytes < options.limitBytes,
      };
      env.log(
        `memory: idle edge RSS ${(result.idleRssBytes / 2 ** 20).toFixed(0)} MiB (V8 heap ${(idleHeapUsedBytes / 2 ** 20).toFixed(0)} MiB used); after the fill V8 heap ${(result.heapUsedBytes / 2 ** 20).toFixed(0)} MiB used of ${(result.heapTotalBytes / 2 ** 20).toFixed(0)} MiB, external (Buffers) ${(result.externalBytes / 2 ** 20).toFixed(0)} MiB`,
      );
      env.log(
        `memory: edge RSS ${(rssBytes / 2 ** 20).toFixed(0)} MiB (peak ${(result.peakRssBytes / 2 ** 20).toFixed(0)} MiB) holding ${(result.edgeCacheBytes / 2 ** 20).toFixed(0)} MiB in ${result.edgeCacheObjects} objects; filled in ${(fillMs / 1000).toFixed(1)} s, ${failed} failed requests`,
      );
      return result;
    } finally {
      await edge.stop();
    }
  } finally {
    await origin.stop();
  }
}
