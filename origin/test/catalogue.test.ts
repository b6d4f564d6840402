import test from 'ava';
import { mulberry32 } from '@cdn-lab/service-kit';
import {
  hashWords,
  objectBody,
  objectEtag,
  objectLastModified,
  objectMeta,
  objectSize,
  CATALOGUE_EPOCH_MS,
  type CatalogueSpec,
} from '../src/catalogue.ts';
import { catalogueSpecOf, originConfig } from '../src/config.ts';

const defaults = catalogueSpecOf(originConfig());
const spec = (overrides: Partial<CatalogueSpec> = {}): CatalogueSpec => ({ ...defaults, ...overrides });

function sizes(s: CatalogueSpec): number[] {
  return Array.from({ length: s.objects }, (_, id) => objectSize(s, id));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.floor(q * (sorted.length - 1))]!;
}

test('size, body, etag and last-modified are pure functions of (seed, id)', (t) => {
  const a = spec();
  const b = { ...spec() }; // an independent but equal spec
  for (const id of [0, 1, 2, 77, 9999]) {
    t.is(objectSize(a, id), objectSize(b, id));
    t.true(objectBody(a, id).equals(objectBody(b, id)));
    t.is(objectEtag(a, id), objectEtag(b, id));
    t.is(objectLastModified(a, id).getTime(), objectLastModified(b, id).getTime());
  }
});

test('another seed is another catalogue', (t) => {
  const one = sizes(spec({ seed: 1, objects: 500 }));
  const two = sizes(spec({ seed: 2, objects: 500 }));
  const same = one.filter((size, id) => size === two[id]).length;
  t.true(same < 25, `${same} of 500 sizes coincide across seeds`);
  t.not(objectEtag(spec({ seed: 1 }), 5), objectEtag(spec({ seed: 2 }), 5));
});

test('a body has its object size and bytes that depend on the id', (t) => {
  const s = spec();
  for (const id of [0, 1, 2, 3]) t.is(objectBody(s, id).length, objectSize(s, id));
  t.false(objectBody(s, 0).subarray(0, 64).equals(objectBody(s, 1).subarray(0, 64)));
  t.is(objectBody(spec({ minBytes: 0, maxBytes: 0 }), 4).length, 0);
});

test('default sizes: median in 4-8 KiB, heavy tail, all within [min, max]', (t) => {
  const s = spec();
  const sorted = sizes(s).sort((x, y) => x - y);
  const median = quantile(sorted, 0.5);
  t.true(median >= 4096 && median <= 8192, `median ${median}`);
  t.true(sorted[0]! >= s.minBytes);
  t.true(sorted.at(-1)! <= s.maxBytes);
  // Heavy tail: the top percentile is far above the median, and some objects reach the cap.
  t.true(quantile(sorted, 0.99) > 20 * median, `p99 ${quantile(sorted, 0.99)} vs median ${median}`);
  t.true(sorted.some((size) => size === s.maxBytes));
});

test('the tail fraction knob moves mass into the Pareto tail', (t) => {
  const big = (s: CatalogueSpec) => sizes(s).filter((size) => size >= s.tailMinBytes).length / s.objects;
  const withoutTail = big(spec({ tailFraction: 0 }));
  const withTail = big(spec({ tailFraction: 0.2 }));
  t.true(withoutTail < 0.02, `without tail ${withoutTail}`);
  t.true(withTail > 0.18 && withTail < 0.25, `with tail ${withTail}`);
});

test('sizes are capped and floored', (t) => {
  const s = spec({ minBytes: 2000, maxBytes: 10_000 });
  const all = sizes(s);
  t.true(all.every((size) => size >= 2000 && size <= 10_000));
  t.true(all.includes(10_000));
  t.true(all.includes(2000));
});

test('etag is strong and names seed, id and size; last-modified is a whole second before the epoch', (t) => {
  const s = spec({ seed: 7 });
  const meta = objectMeta(s, 1234);
  t.regex(meta.etag, /^"[0-9a-z]+-[0-9a-z]+-[0-9a-z]+"$/);
  t.is(meta.etag, `"${(7).toString(36)}-${(1234).toString(36)}-${meta.size.toString(36)}"`);
  t.not(objectEtag(s, 1234), objectEtag(s, 1235));
  t.is(meta.lastModified.getTime() % 1000, 0);
  t.true(meta.lastModified.getTime() <= CATALOGUE_EPOCH_MS);
  t.true(meta.lastModified.getTime() > CATALOGUE_EPOCH_MS - 366 * 24 * 3600 * 1000);
  t.is(new Date(meta.lastModifiedHttp).getTime(), meta.lastModified.getTime());
});

test('mulberry32 streams are uniform and keyed by their seed', (t) => {
  const random = mulberry32(hashWords(1, 2, 3));
  const draws = Array.from({ length: 20_000 }, random);
  t.true(draws.every((x) => x >= 0 && x < 1));
  const mean = draws.reduce((a, b) => a + b, 0) / draws.length;
  t.true(Math.abs(mean - 0.5) < 0.01, `mean ${mean}`);
  const deciles = new Array<number>(10).fill(0);
  for (const x of draws) deciles[Math.floor(x * 10)]!++;
  t.true(deciles.every((n) => n > 1800 && n < 2200), deciles.join(','));
  t.deepEqual(Array.from({ length: 5 }, mulberry32(42)), Array.from({ length: 5 }, mulberry32(42)));
  t.notDeepEqual(Array.from({ length: 5 }, mulberry32(42)), Array.from({ length: 5 }, mulberry32(43)));
});
