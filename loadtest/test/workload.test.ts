import test from 'ava';
import { mulberry32 } from '@cdn-lab/service-kit';
import { permutation, zipfSampler } from '@cdn-lab/service-kit';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { catalogueIdsNeeded, idStream, loadTraceWorkload, requestSource, WorkloadSchema, type WorkloadSpec } from '../src/workload.ts';

test('the same seed gives the same request stream; warm-up and measurement differ', (t) => {
  const spec = WorkloadSchema.parse({ kind: 'zipf', objects: 1000, alpha: 0.9, seed: 7 });
  const a = requestSource(spec, 1000);
  const b = requestSource(spec, 1000);
  const first = Array.from({ length: 200 }, () => a.pathOf(a.warmup()));
  t.deepEqual(first, Array.from({ length: 200 }, () => b.pathOf(b.warmup())));
  t.notDeepEqual(first, Array.from({ length: 200 }, () => a.pathOf(a.measure())));
  t.true(first.every((p) => /^\/obj\/\d+$/.test(p)));
  t.is(a.sizeOf(1), undefined);
});

test('a trace is replayed in order at its own sizes, measurement continuing after the warm-up', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'trace-'));
  await writeFile(path.join(dir, 't.csv'), 't,key,size\n1,a,100\n2,b,200\n3,a,100\n4,c,50\n');
  const spec = await loadTraceWorkload(WorkloadSchema.parse({ kind: 'trace', file: 't.csv' }) as Extract<WorkloadSpec, { kind: 'trace' }>, dir);
  t.is(spec.file, path.join(dir, 't.csv'));
  t.is(catalogueIdsNeeded(spec, 0), 3);
  const source = requestSource(spec, 10);
  const paths = [source.pathOf(source.warmup()), source.pathOf(source.warmup()), source.pathOf(source.measure()), source.pathOf(source.measure()), source.pathOf(source.measure())];
  t.deepEqual(paths, ['/obj/0?size=100', '/obj/1?size=200', '/obj/0?size=100', '/obj/2?size=50', '/obj/0?size=100']);
  await t.throwsAsync(loadTraceWorkload({ kind: 'trace', file: 'missing.csv', seed: 1, pathClass: 'obj' }, dir));
});

test('zipf ranks follow the power law: rank 0 is about 2^alpha times as frequent as rank 1', (t) => {
  const sample = zipfSampler(1000, 1, mulberry32(3));
  const counts = new Uint32Array(1000);
  for (let i = 0; i < 200_000; i++) counts[sample()]!++;
  const ratio = counts[0]! / counts[1]!;
  t.true(ratio > 1.8 && ratio < 2.2, `rank0/rank1 = ${ratio}`);
  // Expected share of rank 0 is 1/H(1000) = 0.1336.
  const share = counts[0]! / 200_000;
  t.true(Math.abs(share - 0.1336) < 0.005, `share of rank 0 = ${share}`);
});

test('alpha 0 is uniform', (t) => {
  const sample = zipfSampler(10, 0, mulberry32(5));
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) counts[sample()]!++;
  for (const count of counts) t.true(Math.abs(count - 10_000) < 600, `count ${count}`);
});

test('permutation is a permutation', (t) => {
  const ids = permutation(5000, mulberry32(9));
  t.is(new Set(ids).size, 5000);
  t.is(Math.max(...ids), 4999);
});

test('bad zipf parameters are refused with the reason', (t) => {
  t.throws(() => zipfSampler(0, 1, Math.random), { message: /n must be a positive integer/ });
  t.throws(() => zipfSampler(10, -1, Math.random), { message: /alpha must be >= 0/ });
});

test('scans walk cold ids in order at the configured cadence', (t) => {
  const spec = WorkloadSchema.parse({ kind: 'scan', objects: 100, alpha: 1, scanEvery: 50, scanLength: 10, seed: 1 });
  const next = idStream(spec, 0, 10_000);
  const ids = Array.from({ length: 120 }, next);
  t.true(ids.slice(0, 50).every((id) => id < 100));
  t.deepEqual(ids.slice(50, 60), [100, 101, 102, 103, 104, 105, 106, 107, 108, 109]);
  t.true(ids.slice(60, 100).every((id) => id < 100));
  t.deepEqual(ids.slice(100, 110), [110, 111, 112, 113, 114, 115, 116, 117, 118, 119]);
});

test('one-hit wonders never repeat and come at the configured share', (t) => {
  const spec = WorkloadSchema.parse({ kind: 'one-hit-wonders', objects: 1000, oneHitFraction: 0.3, seed: 3 });
  const ids = Array.from({ length: 20_000 }, idStream(spec, 0, 1_000_000));
  const cold = ids.filter((id) => id >= 1000);
  t.is(new Set(cold).size, cold.length);
  t.true(Math.abs(cold.length / ids.length - 0.3) < 0.02, `share ${cold.length / ids.length}`);
});

test('hot-set shift moves popularity to other objects', (t) => {
  const spec = WorkloadSchema.parse({ kind: 'hotset-shift', objects: 1000, alpha: 1.2, shiftEvery: 5000, seed: 4 });
  const ids = Array.from({ length: 10_000 }, idStream(spec));
  const top = (part: number[]) => {
    const counts = new Map<number, number>();
    for (const id of part) counts.set(id, (counts.get(id) ?? 0) + 1);
    return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
  };
  t.not(top(ids.slice(0, 5000)), top(ids.slice(5000)));
});

test('uniform spreads requests evenly and an unknown kind is refused', (t) => {
  const ids = Array.from({ length: 50_000 }, idStream(WorkloadSchema.parse({ kind: 'uniform', objects: 10 })));
  for (let id = 0; id < 10; id++) t.true(Math.abs(ids.filter((x) => x === id).length - 5000) < 400);
  t.throws(() => WorkloadSchema.parse({ kind: 'pareto-burst' }));
});

test('catalogueIdsNeeded accounts for cold ids', (t) => {
  t.is(catalogueIdsNeeded(WorkloadSchema.parse({ kind: 'zipf', objects: 10 }), 1000), 10);
  t.is(catalogueIdsNeeded(WorkloadSchema.parse({ kind: 'one-hit-wonders', objects: 10, oneHitFraction: 0.5 }), 1000), 510);
});

test('repetitions draw different requests over the same popularity', (t) => {
  const spec = WorkloadSchema.parse({ kind: 'zipf', objects: 1000, alpha: 1.2, seed: 9 });
  const top = (run: number) => {
    const source = requestSource(spec, 1000, run);
    const counts = new Map<number, number>();
    const ids = Array.from({ length: 20_000 }, () => source.measure());
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    return { ids, hottest: [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([id]) => id) };
  };
  const [a, b] = [top(0), top(1)];
  t.notDeepEqual(a.ids.slice(0, 100), b.ids.slice(0, 100));
  t.deepEqual(a.hottest, b.hottest);
});
