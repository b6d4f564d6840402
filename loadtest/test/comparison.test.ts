import test from 'ava';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { ConfigError } from '@cdn-lab/service-kit';
import { loadComparison, mergeDeep, parseComparison } from '../src/comparison.ts';

test('variants are deep-merged onto the base and validated', (t) => {
  const comparison = parseComparison({
    name: 'x',
    base: { edges: { count: 3, cacheBytes: '8MiB' } },
    warmup: '2s',
    measure: 4000,
    variants: [{ name: 'a', topology: { edges: { policy: 'lru' } } }, { name: 'b', topology: { balancer: { algorithm: 'consistent-hash' } } }],
  });
  t.deepEqual(comparison.warmup, { kind: 'time', ms: 2000 });
  t.deepEqual(comparison.measure, { kind: 'requests', requests: 4000 });
  t.is(comparison.variants[0]!.topology.edges.count, 3);
  t.is(comparison.variants[0]!.topology.edges.cacheBytes, 8 * 1024 * 1024);
  t.is(comparison.variants[1]!.topology.balancer.algorithm, 'consistent-hash');
  t.is(comparison.variants[1]!.topology.name, 'b');
});

test('errors name the variant and field', (t) => {
  const error = t.throws(
    () =>
      parseComparison({
        name: 'x',
        measure: 'forever',
        variants: [{ name: 'a', topology: { edges: { policy: 'nope' } } }, { name: 'a' }],
      }),
    { instanceOf: ConfigError },
  );
  t.regex(error.message, /measure: expected the measured phase: a number of requests like 20000, or a duration/);
  const second = t.throws(() => parseComparison({ name: 'x', variants: [{ name: 'a', topology: { edges: { policy: 'nope' } } }, { name: 'a' }] }), {
    instanceOf: ConfigError,
  });
  t.regex(second.message, /variants\.0\.topology\.edges\.policy: unknown cache policy "nope"/);
  t.regex(second.message, /variants\.1\.name: duplicate variant name "a"/);
});

test('a workload larger than the catalogue is refused', (t) => {
  const error = t.throws(() => parseComparison({ name: 'x', base: { origin: { objects: 10 } }, workload: { kind: 'zipf', objects: 100 }, variants: [{ name: 'a' }] }), {
    instanceOf: ConfigError,
  });
  t.regex(error.message, /workload\.objects: the workload needs 100 catalogue objects but variant "a" has an origin catalogue of 10/);
});

test('loadComparison reports unreadable and malformed files', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cmp-'));
  await t.throwsAsync(loadComparison(path.join(dir, 'missing.yaml')), { message: /cannot read/ });
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(bad, 'name: [unclosed');
  await t.throwsAsync(loadComparison(bad), { message: /not valid YAML/ });
});

test('every shipped comparison is valid', async (t) => {
  const dir = path.resolve(import.meta.dirname, '../comparisons');
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  t.true(files.length >= 6, files.join(', '));
  for (const file of files) {
    const comparison = await loadComparison(path.join(dir, file));
    t.true(comparison.variants.length >= 2, file);
  }
});

test('mergeDeep merges objects and replaces the rest', (t) => {
  t.deepEqual(mergeDeep({ a: { b: 1, c: 2 }, d: [1] }, { a: { c: 3 }, d: [2] }), { a: { b: 1, c: 3 }, d: [2] });
});

test('a trace comparison checks the trace and the catalogue it needs', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cmp-trace-'));
  await writeFile(path.join(dir, 'tiny.csv'), 'key,size\na,10\nb,20\nc,30\n');
  const ok = path.join(dir, 'ok.yaml');
  await writeFile(ok, 'name: t\nbase: { origin: { objects: 3 } }\nworkload: { kind: trace, file: tiny.csv, rate: 500 }\nvariants: [{ name: a }]\n');
  const comparison = await loadComparison(ok);
  t.is(comparison.workload.kind, 'trace');
  const small = path.join(dir, 'small.yaml');
  await writeFile(small, 'name: t\nbase: { origin: { objects: 2 } }\nworkload: { kind: trace, file: tiny.csv }\nvariants: [{ name: a }]\n');
  await t.throwsAsync(loadComparison(small), { message: /"a" has an origin catalogue of 2 objects; the trace has 3 distinct keys/ });
  const bad = path.join(dir, 'bad.yaml');
  await writeFile(path.join(dir, 'broken.csv'), 'key,size\na,10\nb,twenty\n');
  await writeFile(bad, 'name: t\nworkload: { kind: trace, file: broken.csv }\nvariants: [{ name: a }]\n');
  await t.throwsAsync(loadComparison(bad), { message: /workload\.file: .*broken\.csv:3/ });
});

test('phases default to a steady-state warm-up and 20,000 measured requests, closed loop', (t) => {
  const comparison = parseComparison({ name: 'x', variants: [{ name: 'a' }] });
  t.deepEqual(comparison.warmup, { kind: 'steady', windowRequests: 2000, maxRequests: 200_000 });
  t.deepEqual(comparison.measure, { kind: 'requests', requests: 20_000 });
  t.deepEqual(comparison.load, { mode: 'closed' });
  const open = parseComparison({ name: 'x', warmup: 5000, measure: '10s', load: { rate: 1500 }, variants: [{ name: 'a' }] });
  t.deepEqual(open.warmup, { kind: 'requests', requests: 5000 });
  t.deepEqual(open.measure, { kind: 'time', ms: 10_000 });
  t.deepEqual(open.load, { mode: 'open', rate: 1500 });
  t.throws(() => parseComparison({ name: 'x', load: { rate: -1 }, variants: [{ name: 'a' }] }), { message: /load/ });
  t.throws(() => parseComparison({ name: 'x', duration: '10s', variants: [{ name: 'a' }] }), { message: /duration/ }, 'the old key is named, not ignored');
});

test('settings that would say nothing are refused before anything starts', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cmp-phases-'));
  const short = path.join(dir, 'short.yaml');
  await writeFile(short, 'name: t\nmeasure: 200\nvariants: [{ name: a }]\n');
  await t.throwsAsync(loadComparison(short), { instanceOf: ConfigError, message: /measure: 200 requests is too short to say anything/ });
  const capped = path.join(dir, 'capped.yaml');
  await writeFile(capped, 'name: t\nbase: { edges: { cacheBytes: 64MiB } }\nwarmupMaxRequests: 500\nvariants: [{ name: big }]\n');
  await t.throwsAsync(loadComparison(capped), { instanceOf: ConfigError, message: /warmupMaxRequests: 500 is below what fills variant "big"'s caches/ });
  // Overrides from the command line are checked the same way.
  const fine = path.join(dir, 'fine.yaml');
  await writeFile(fine, 'name: t\nvariants: [{ name: a }]\n');
  await t.throwsAsync(loadComparison(fine, { measure: 10 }), { message: /measure: 10 requests is too short/ });
  t.deepEqual((await loadComparison(fine, { measure: '3s', load: { rate: 800 } })).load, { mode: 'open', rate: 800 });
});
