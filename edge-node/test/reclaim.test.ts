import test from 'ava';
import { once } from 'node:events';
import net from 'node:net';
import { allocateBody, BodyReclaimer, isReleasable, majorGc, OWN_PAGES_MIN_BYTES, ReleasableBodies } from '../src/reclaim.ts';
import { request, startEdge, startUpstream, testClock } from './helpers.ts';

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

test('the edge asks for a collection after evicting 1/16 of its budget (1 MiB minimum) of small bodies, not for replacements', async (t) => {
  // Under OWN_PAGES_MIN_BYTES: bodies the garbage collector has to find (larger ones are given back directly).
  const size = 32 * 1024;
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
  // 63 objects of 32 KiB (plus headers) fill the 2 MiB cache; evictions begin with the 64th.
  for (let i = 0; i < 64; i++) await request(`${edge.url}/o/${i}`);
  t.is(collections, 0, 'under 1 MiB evicted');
  for (let i = 64; i < 97; i++) await request(`${edge.url}/o/${i}`);
  t.is(collections, 1, '33 bodies (just over 1 MiB) evicted: one collection');
  // Refetching a stored URL with no-cache replaces its entry: not counted as released bytes (the
  // clock moves past the minimum interval first, so only the byte count could hold a collection back).
  edge.advance(2000);
  for (let i = 0; i < 40; i++) await request(`${edge.url}/o/96`, { headers: { 'cache-control': 'no-cache' } });
  t.is(collections, 1);
});

test('allocateBody gives large bodies pages of their own and small ones an ordinary Buffer', (t) => {
  const small = allocateBody(OWN_PAGES_MIN_BYTES - 1);
  const large = allocateBody(OWN_PAGES_MIN_BYTES);
  t.false(isReleasable(small));
  t.true(isReleasable(large));
  t.is(small.length, OWN_PAGES_MIN_BYTES - 1);
  t.is(large.length, OWN_PAGES_MIN_BYTES);
  t.is(large.byteOffset, 0);
  t.is(large.buffer.byteLength, OWN_PAGES_MIN_BYTES, 'sized exactly, no pool behind it');
  t.false(isReleasable(Buffer.alloc(OWN_PAGES_MIN_BYTES)), 'other Buffers are left to the garbage collector');
});

const nextTurn = () => new Promise((r) => setImmediate(r));

test('ReleasableBodies gives pages back on the turn after the last drop, not before', async (t) => {
  const bodies = new ReleasableBodies();
  const body = allocateBody(OWN_PAGES_MIN_BYTES * 2).fill(7);
  bodies.hold(body);
  bodies.hold(body);
  bodies.drop(body);
  await nextTurn();
  t.is(body.length, OWN_PAGES_MIN_BYTES * 2, 'one holder left: kept');
  bodies.drop(body);
  t.is(body.length, OWN_PAGES_MIN_BYTES * 2, 'not within the same turn');
  // Picked up again within the turn (a coalesced follower): kept.
  bodies.hold(body);
  await nextTurn();
  t.is(body[body.length - 1], 7);
  bodies.drop(body);
  await nextTurn();
  t.is(body.buffer.byteLength, 0, 'pages given back');
  t.is(body.length, 0);
  t.is(bodies.releasedBytes, OWN_PAGES_MIN_BYTES * 2);
  t.throws(() => bodies.hold(body), { message: /released body/ }, 'a late user fails loudly instead of sending zeros');
  // Small bodies are ignored by every call.
  const small = Buffer.alloc(10, 1);
  bodies.hold(small);
  bodies.drop(small);
  bodies.drop(small);
  await nextTurn();
  t.is(small.length, 10);
});

test('an evicted large body is written whole to a slow reader, then its pages are given back', async (t) => {
  // Larger than loopback's socket buffers (a few MiB), so the response cannot all sit in the kernel.
  const size = 16 * 1024 * 1024;
  const upstream = await startUpstream((req, res) => {
    const id = Number(req.url?.split('/').pop());
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.end(Buffer.alloc(size, id));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CACHE_BYTES: String(32 * 1024 * 1024), MAX_OBJECT_BYTES: String(size) });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const bodies = edge.edge.store.bodies;
  t.is((await request(`${edge.url}/o/1`)).body.length, size, 'stored');
  // A client that asks for /o/1 (a hit) and does not read: the response stays in flight.
  const socket = net.connect(edge.port, '127.0.0.1');
  await once(socket, 'connect');
  socket.pause();
  socket.write('GET /o/1 HTTP/1.1\r\nHost: x\r\n\r\n');
  await new Promise((r) => setTimeout(r, 100));
  // Two more objects evict /o/1 while the slow response still writes it.
  await request(`${edge.url}/o/2`);
  await request(`${edge.url}/o/3`);
  await nextTurn();
  t.is(bodies.releasedBytes, size, '/o/2 given back; /o/1 is still being written: kept');
  const received: Buffer[] = [];
  socket.on('data', (c: Buffer) => received.push(c));
  socket.resume();
  const all = await new Promise<Buffer>((resolve) => {
    const check = () => {
      const got = Buffer.concat(received);
      const headEnd = got.indexOf('\r\n\r\n');
      if (headEnd >= 0 && got.length - headEnd - 4 >= size) resolve(got.subarray(headEnd + 4));
      else socket.once('data', check);
    };
    check();
  });
  t.is(all.length, size);
  t.true(all.every((b) => b === 1), 'every byte is the stored body, none zeroed');
  socket.end();
  // The response's close, then one more turn.
  for (let i = 0; i < 50 && bodies.releasedBytes === size; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(bodies.releasedBytes, 2 * size, 'given back once the response closed');
  // The cache still serves what it holds.
  t.is((await request(`${edge.url}/o/3`)).body.length, size);
});

test('a background revalidation keeps a large body through its eviction and refreshes the entry with it', async (t) => {
  const size = 256 * 1024;
  const clock = testClock();
  // The 304 is held until the test has evicted the entry: events, not a timer a slow core can outrun.
  let arrived!: () => void;
  const revalidationArrived = new Promise<void>((resolve) => (arrived = resolve));
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const upstream = await startUpstream((req, res) => {
    const id = Number(req.url?.split('/').pop());
    if (req.headers['if-none-match'] === '"v1"') {
      arrived();
      void released.then(() => {
        res.writeHead(304, { etag: '"v1"', 'cache-control': 'max-age=60' });
        res.end();
      });
      return;
    }
    res.writeHead(200, { etag: '"v1"', 'cache-control': 'max-age=1, stale-while-revalidate=60', 'content-length': size });
    res.end(Buffer.alloc(size, id));
  }, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CACHE_BYTES: String(600 * 1024) }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  await request(`${edge.url}/o/1`);
  clock.advance(2000);
  const stale = await request(`${edge.url}/o/1`);
  t.regex(String(stale.headers['cache-status']), /stale-while-revalidate/);
  await revalidationArrived;
  // Two more bodies evict /o/1 while its revalidation is in flight.
  await request(`${edge.url}/o/2`);
  await request(`${edge.url}/o/3`);
  t.false(edge.edge.store.hasUrl('/o/1'), 'evicted');
  release();
  // The refreshed entry lands when the 304 has been handled (bounded: 30 s on the slowest machine).
  for (let i = 0; i < 3000 && !edge.edge.store.hasUrl('/o/1'); i++) await new Promise((r) => setTimeout(r, 10));
  const refreshed = await request(`${edge.url}/o/1`);
  t.regex(String(refreshed.headers['cache-status']), /; hit/, 'the 304 stored the refreshed entry with the kept body');
  t.is(refreshed.body.length, size);
  t.true([...refreshed.body].every((c) => c === '\u0001'), 'the body is intact');
  t.false(edge.logs.some((l) => String(l.msg).includes('revalidation crashed')));
});
