import test from 'ava';
import { BodyReclaimer, majorGc } from '../src/reclaim.ts';
import { request, startEdge, startUpstream } from './helpers.ts';

function reclaimer(thresholdBytes: number, minIntervalMs: number) {
  let now = 0;
  let collections = 0;
  const r = new BodyReclaimer({ thresholdBytes, minIntervalMs, now: () => now, collect: () => collections++ });
  return { r, advance: (ms: number) => (now += ms), collections: () => collections };
}

test('a collection is asked for once the released bytes reach the threshold, and the count starts over', (t) => {
  const { r, collections } = reclaimer(1000, 0);
  r.released(600);
  t.is(collections(), 0);
  r.released(400);
  t.is(collections(), 1);
  r.released(999);
  t.is(collections(), 1);
  r.released(1);
  t.is(collections(), 2);
});

test('collections are at least minIntervalMs apart; bytes released in between are kept for the next one', (t) => {
  const { r, advance, collections } = reclaimer(100, 1000);
  r.released(100);
  t.is(collections(), 1);
  advance(500);
  r.released(5000);
  t.is(collections(), 1, 'too soon after the last one');
  advance(500);
  r.released(1);
  t.is(collections(), 2, 'the bytes from before still count');
});

test('majorGc returns a function that runs a real collection without --expose-gc on the command line', async (t) => {
  const collect = majorGc();
  let freed = false;
  const registry = new FinalizationRegistry(() => {
    freed = true;
  });
  (() => registry.register({ big: new Array(1000).fill(0) }, 'x'))();
  for (let i = 0; i < 20 && !freed; i++) {
    collect();
    await new Promise((r) => setTimeout(r, 20));
  }
  t.true(freed, 'an unreachable object was collected and finalized');
});

test('the edge asks for a collection after evicting 1/16 of its budget (1 MiB minimum), not for replacements', async (t) => {
  const size = 256 * 1024;
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.end(Buffer.alloc(size, 1));
  });
  let collections = 0;
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CACHE_BYTES: String(2 * 1024 * 1024) }, undefined, { collectGarbage: () => collections++ });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  // 7 objects of 256 KiB (plus headers) fill the 2 MiB cache; evictions begin with the 8th.
  for (let i = 0; i < 8; i++) await request(`${edge.url}/o/${i}`);
  t.is(collections, 0, 'under 1 MiB evicted');
  for (let i = 8; i < 12; i++) await request(`${edge.url}/o/${i}`);
  t.is(collections, 1, 'about 1 MiB evicted: one collection');
  // Refetching a stored URL with no-cache replaces its entry: not counted as released bytes (the
  // clock moves past the minimum interval first, so only the byte count could hold a collection back).
  edge.advance(2000);
  for (let i = 0; i < 6; i++) await request(`${edge.url}/o/11`, { headers: { 'cache-control': 'no-cache' } });
  t.is(collections, 1);
});
