import test from 'ava';
import { generateTrace, parseSyntheticSpec, traceToCsv } from '../../src/sim/synthetic.ts';
import { parseTrace } from '../../src/sim/trace.ts';

test('the same seed gives the same trace, another seed another one', (t) => {
  const a = generateTrace({ requests: 5_000, objects: 500, seed: 3 });
  const b = generateTrace({ requests: 5_000, objects: 500, seed: 3 });
  const c = generateTrace({ requests: 5_000, objects: 500, seed: 4 });
  t.deepEqual([...a.keys], [...b.keys]);
  t.deepEqual([...a.sizes], [...b.sizes]);
  t.notDeepEqual([...a.keys], [...c.keys]);
});

test('Zipf popularity: the most requested object dominates, every object keeps one size', (t) => {
  const trace = generateTrace({ requests: 20_000, objects: 1_000, alpha: 1, seed: 1 });
  const counts = new Map<number, number>();
  const sizeOf = new Map<number, number>();
  for (let i = 0; i < trace.length; i++) {
    counts.set(trace.keys[i]!, (counts.get(trace.keys[i]!) ?? 0) + 1);
    const size = sizeOf.get(trace.keys[i]!);
    if (size !== undefined) t.is(trace.sizes[i], size);
    sizeOf.set(trace.keys[i]!, trace.sizes[i]!);
  }
  const sorted = [...counts.values()].sort((x, y) => y - x);
  t.true(sorted[0]! > 10 * sorted[99]!, 'rank 1 is requested far more than rank 100');
  // Heavy tail: the largest object is far above the median size.
  const all = [...sizeOf.values()].sort((x, y) => x - y);
  t.true(all.at(-1)! > 20 * all[Math.floor(all.length / 2)]!);
});

test('one-hit wonders are requested exactly once and take about their share', (t) => {
  const trace = generateTrace({ requests: 20_000, objects: 1_000, oneHitWonders: 0.3, seed: 2 });
  const counts = new Map<number, number>();
  for (const key of trace.keys) counts.set(key, (counts.get(key) ?? 0) + 1);
  const wonders = [...counts].filter(([key]) => key >= 1_000);
  t.true(wonders.every(([, n]) => n === 1));
  t.true(Math.abs(wonders.length / 20_000 - 0.3) < 0.02);
});

test('scans request consecutive catalogue objects', (t) => {
  const trace = generateTrace({ requests: 3_000, objects: 10_000, scanEvery: 1_000, scanLength: 200, seed: 5 });
  let run = 0;
  let longest = 0;
  for (let i = 1; i < trace.length; i++) {
    run = trace.keys[i] === (trace.keys[i - 1]! + 1) % 10_000 ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  t.true(longest >= 199);
});

test('a popularity shift changes which objects are hot', (t) => {
  const trace = generateTrace({ requests: 20_000, objects: 1_000, shiftEvery: 10_000, shiftFraction: 0.5, sizes: 'unit', seed: 9 });
  const top = (from: number, to: number) => {
    const counts = new Map<number, number>();
    for (let i = from; i < to; i++) counts.set(trace.keys[i]!, (counts.get(trace.keys[i]!) ?? 0) + 1);
    return [...counts].sort((a, b) => b[1] - a[1])[0]![0];
  };
  t.not(top(0, 10_000), top(10_000, 20_000));
  t.true(trace.unitSizes);
});

test('spec strings and CSV round trip', (t) => {
  const options = parseSyntheticSpec('requests=2000,objects=300,alpha=0.7,seed=11,wonders=0.1,sizes=unit');
  t.is(options.requests, 2000);
  t.is(options.sizes, 'unit');
  const trace = generateTrace(options);
  const back = parseTrace(traceToCsv(trace));
  t.is(back.length, trace.length);
  t.is(back.uniqueObjects, trace.uniqueObjects);
  t.throws(() => parseSyntheticSpec('requests=abc'), { message: /requests=abc/ });
  t.throws(() => parseSyntheticSpec('bogus=1'), { message: /bogus/ });
  t.throws(() => parseSyntheticSpec('wonders=1.5'), { message: /wonders/ });
});
