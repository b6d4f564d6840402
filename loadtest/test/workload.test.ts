import test from 'ava';
import { mulberry32, permutation, zipfSampler } from '../src/random.ts';
import { pathStream, WorkloadSchema } from '../src/workload.ts';

test('the same seed gives the same path stream', (t) => {
  const spec = WorkloadSchema.parse({ objects: 1000, alpha: 0.9, seed: 7 });
  const a = pathStream(spec, 1);
  const b = pathStream(spec, 1);
  const c = pathStream(spec, 2);
  const first = Array.from({ length: 200 }, a);
  t.deepEqual(first, Array.from({ length: 200 }, b));
  t.notDeepEqual(first, Array.from({ length: 200 }, c));
  t.true(first.every((p) => /^\/obj\/\d+$/.test(p)));
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
