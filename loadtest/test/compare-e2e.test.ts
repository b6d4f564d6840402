// A small comparison end to end on real processes: the report's figures must match what the
// clients saw (Cache-Status on every response) and the origin's own count, and be written to disk.
import test from 'ava';
import { mkdtemp, readFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseComparison } from '../src/comparison.ts';
import { runComparison } from '../src/compare.ts';
import type { ComparisonReport } from '../src/report.ts';

test('a two-variant comparison runs, and its figures agree with the clients and the origin', async (t) => {
  const comparison = parseComparison({
    name: 'e2e',
    base: { origin: { objects: 2000, latencyMs: 2, jitterMs: 0 }, edges: { count: 2, cacheBytes: '2MiB' } },
    workload: { kind: 'zipf', objects: 2000, alpha: 1, seed: 5 },
    warmupWindow: 1000,
    measure: 3000,
    connections: 8,
    repetitions: 1,
    variants: [
      { name: 'lru-rr', topology: { edges: { policy: 'lru' }, balancer: { algorithm: 'round-robin' } } },
      { name: 'lru-ch', topology: { edges: { policy: 'lru' }, balancer: { algorithm: 'consistent-hash' } } },
    ],
  });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'compare-e2e-'));
  const { report } = await runComparison(comparison, { outDir: dir, progress: false, log: () => {}, observeCacheStatus: true });

  t.is(report.variants.length, 2);
  for (const variant of report.variants) {
    const run = variant.runs[0]!;
    const { cache, client } = run;
    t.is(client.requests, 3000, `${variant.name}: the measured phase is exactly its request count`);
    t.is(run.measuredRequests, 3000);
    t.is(run.warmup.ended, 'steady', `${variant.name}: warm-up ${JSON.stringify(run.warmup)}`);
    t.is(run.warmup.requests % 1000, 0, 'the warm-up ends on a window boundary');
    t.is(client.errors, 0);
    // Every client response was counted by an edge; the edges also count the few still in flight at the end.
    t.true(cache.edgeRequests >= client.requests && cache.edgeRequests <= client.requests + comparison.connections, `${cache.edgeRequests} vs ${client.requests}`);
    // The edges' hit count matches the Cache-Status headers the clients received.
    const clientHits = client.cacheStatus!.hit;
    const edgeHits = Math.round(cache.hitRatio * cache.edgeRequests);
    t.true(Math.abs(edgeHits - clientHits) <= comparison.connections, `${variant.name}: edges ${edgeHits} hits, clients saw ${clientHits}`);
    // The origin's own count equals what the edges say they fetched, and offload follows from it.
    t.true(cache.countsAgree, `${variant.name}: origin ${cache.originRequests}, edges ${cache.edgeToOriginRequests}`);
    t.true(Math.abs(cache.originOffload - (1 - cache.originRequests / cache.edgeRequests)) < 1e-12);
    t.true(cache.hitRatio > 0.2 && cache.hitRatio < 1, `${variant.name}: hit ratio ${cache.hitRatio}`);
    t.is(cache.perEdge.length, 2);
    t.is(cache.perEdge.reduce((sum, e) => sum + e.requests, 0), cache.edgeRequests);
    t.true(run.timeline.filter((p) => p.phase === 'warm-up').length >= 2, 'the warm-up curve is kept');
    t.true(run.timeline.some((p) => p.phase === 'measure'));
    // The offline replay of the same streams lands within the tolerance.
    t.true(variant.liveAgreesWithSimulated === true, `${variant.name}: live ${cache.hitRatio}, simulated ${run.simulated.hitRatio}`);
  }
  // Consistent hashing gives each edge half the keys: a higher hit ratio than round robin here.
  const [rr, ch] = report.variants;
  t.true(ch!.figures.hitRatio.mean > rr!.figures.hitRatio.mean, `ch ${ch!.figures.hitRatio.mean} vs rr ${rr!.figures.hitRatio.mean}`);

  const written = JSON.parse(await readFile(path.join(dir, 'results.json'), 'utf8')) as ComparisonReport;
  t.deepEqual(written.variants.map((v) => v.figures.hitRatio.mean), report.variants.map((v) => v.figures.hitRatio.mean));
  t.true((await stat(path.join(dir, 'report.html'))).size > 10_000);
  t.regex(await readFile(path.join(dir, 'summary.txt'), 'utf8'), /lru-ch/);
  t.true((await stat(path.join(dir, 'logs', 'run-1', 'lru-rr', 'edge-0.log'))).size > 0, 'service logs are kept');
});
