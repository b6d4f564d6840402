// Bodies streamed both ways (issue 17, finding 4): a miss reaches its client while it fills the
// cache, responses over MAX_OBJECT_BYTES are passed on and not stored, request bodies stream to the
// upstream with a limit (413), and a half body is never stored. Every wait is on an event: the
// origin holds the rest of a body until the client has seen (or dropped) the first part.
import http from 'node:http';
import { once } from 'node:events';
import test from 'ava';
import { metricValue, request, startEdge, startUpstream } from './helpers.ts';

const KiB = 1024;
const MiB = 1024 * KiB;

/** A deferred signal: `wait` resolves once `fire` was called. */
function signal(): { fire: () => void; wait: Promise<void> } {
  let fire = () => undefined as void;
  const wait = new Promise<void>((resolve) => {
    fire = resolve;
  });
  return { fire, wait };
}

/** A GET that reports its head and first body bytes as they come, and can be dropped midway. */
function streamingGet(url: string): { head: Promise<http.IncomingMessage>; firstChunk: Promise<Buffer>; body: Promise<Buffer>; abort: () => void } {
  const req = http.get(url, { agent: false });
  const head = new Promise<http.IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
  });
  const firstChunk = head.then((res) => once(res, 'data').then(([chunk]) => chunk as Buffer));
  const body = head.then(
    (res) =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks)));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('aborted')));
      }),
  );
  return { head, firstChunk, body, abort: () => req.destroy() };
}

test('a response over MAX_OBJECT_BYTES is passed through complete and not stored (Cache-Status says so)', async (t) => {
  const size = 3 * MiB;
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.end(Buffer.alloc(size, 7));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, MAX_OBJECT_BYTES: String(1 * MiB) });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  for (let i = 0; i < 2; i++) {
    const answer = await request(`${edge.url}/big`);
    t.is(answer.status, 200);
    t.is(Buffer.byteLength(answer.body, 'latin1'), size);
    t.is(answer.headers['content-length'], String(size));
    t.is(answer.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=too-large');
  }
  t.is(upstream.count('/big'), 2, 'not stored: each request went upstream');
  t.is(edge.edge.store.count, 0);
});

test('a chunked response that grows past MAX_OBJECT_BYTES is streamed on whole and not stored', async (t) => {
  const chunk = Buffer.alloc(256 * KiB, 3);
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' }); // no Content-Length: chunked
    for (let i = 0; i < 8; i++) res.write(chunk);
    res.end();
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, MAX_OBJECT_BYTES: String(1 * MiB) });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  for (let i = 0; i < 2; i++) {
    const answer = await request(`${edge.url}/chunked`);
    t.is(answer.status, 200);
    t.is(Buffer.byteLength(answer.body, 'latin1'), 8 * chunk.length);
  }
  t.is(upstream.count('/chunked'), 2, 'not stored: each request went upstream');
  t.is(edge.edge.store.count, 0);
});

test("a slow large miss: the first bytes reach the client before the origin sends the rest, and the whole body is stored", async (t) => {
  const size = 2 * MiB;
  const clientSawFirst = signal();
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.write(Buffer.alloc(64 * KiB, 1));
    // The rest only once the client has the first part: an edge that buffers the whole body first
    // never gets it, and its UPSTREAM_TIMEOUT_MS ends the exchange with a 504 instead.
    void clientSawFirst.wait.then(() => res.end(Buffer.alloc(size - 64 * KiB, 2)));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '5000' });
  t.teardown(async () => {
    clientSawFirst.fire();
    await edge.close();
    await upstream.close();
  });
  const get = streamingGet(`${edge.url}/slow`);
  const head = await get.head;
  t.is(head.statusCode, 200);
  t.is(head.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  const first = await get.firstChunk;
  t.is(first[0], 1);
  clientSawFirst.fire();
  const body = await get.body;
  t.is(body.length, size);
  const hit = await request(`${edge.url}/slow`);
  t.regex(String(hit.headers['cache-status']), /^cdn-lab; hit/);
  t.is(Buffer.byteLength(hit.body, 'latin1'), size);
  t.is(upstream.count('/slow'), 1);
});

test('followers of a streamed miss get the whole stored body, with one upstream request', async (t) => {
  const size = 1 * MiB;
  const followersWaiting = signal();
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.write(Buffer.alloc(64 * KiB, 5));
    void followersWaiting.wait.then(() => res.end(Buffer.alloc(size - 64 * KiB, 5)));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => {
    followersWaiting.fire();
    await edge.close();
    await upstream.close();
  });
  const leader = streamingGet(`${edge.url}/shared`);
  await leader.firstChunk;
  const followers = Array.from({ length: 5 }, () => request(`${edge.url}/shared`));
  for (let i = 0; i < 1000 && edge.edge.coalescer.waiting < 5; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(edge.edge.coalescer.waiting, 5, 'the followers wait for the fill in flight');
  followersWaiting.fire();
  t.is((await leader.body).length, size);
  for (const answer of await Promise.all(followers)) {
    t.is(Buffer.byteLength(answer.body, 'latin1'), size);
    t.is(answer.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored; collapsed');
  }
  t.is(upstream.count('/shared'), 1);
});

test('a client that drops a streamed miss midway leaves no half body: the fill completes, or is not stored when the origin fails', async (t) => {
  const size = 2 * MiB;
  const dropped = signal();
  let failNext = false;
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.write(Buffer.alloc(64 * KiB, 9));
    void dropped.wait.then(() => {
      if (failNext) res.destroy(); // the origin dies midway too: the body never completes
      else res.end(Buffer.alloc(size - 64 * KiB, 9));
    });
    void req;
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '5000' });
  t.teardown(async () => {
    dropped.fire();
    await edge.close();
    await upstream.close();
  });

  // The origin fails after the client left: nothing is stored; the next request is a full miss.
  failNext = true;
  const first = streamingGet(`${edge.url}/failing`);
  first.body.catch(() => undefined);
  t.is((await first.head).statusCode, 200, 'the head came before the body was complete');
  await first.firstChunk;
  first.abort();
  dropped.fire();
  for (let i = 0; i < 1000 && (await metricValue(edge.edge, 'edge_upstream_requests_total', { code: 'error' })) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is(edge.edge.store.count, 0, 'the half body was not stored');

  failNext = false;
  const again = await request(`${edge.url}/failing`);
  t.is(again.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored', 'a miss, not a hit on a half body');
  t.is(Buffer.byteLength(again.body, 'latin1'), size);
});

test('a client that drops a streamed miss midway: the fill goes on and stores the whole body', async (t) => {
  const size = 2 * MiB;
  const dropped = signal();
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.write(Buffer.alloc(64 * KiB, 4));
    void dropped.wait.then(() => res.end(Buffer.alloc(size - 64 * KiB, 4)));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '5000' });
  t.teardown(async () => {
    dropped.fire();
    await edge.close();
    await upstream.close();
  });
  const first = streamingGet(`${edge.url}/kept`);
  first.body.catch(() => undefined);
  t.is((await first.head).statusCode, 200, 'the head came before the body was complete');
  await first.firstChunk;
  first.abort();
  dropped.fire();
  for (let i = 0; i < 1000 && edge.edge.store.count === 0; i++) await new Promise((r) => setTimeout(r, 10));
  const hit = await request(`${edge.url}/kept`);
  t.regex(String(hit.headers['cache-status']), /^cdn-lab; hit/);
  t.is(Buffer.byteLength(hit.body, 'latin1'), size);
  t.true(Buffer.from(hit.body, 'latin1').every((b) => b === 4), 'the whole body, no zeros');
});

test('a passed-through response whose client leaves midway stops the upstream exchange', async (t) => {
  const size = 8 * MiB;
  const upstreamClosed = signal();
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': size });
    res.write(Buffer.alloc(64 * KiB, 1));
    res.on('close', () => upstreamClosed.fire());
    // Never finished: only the edge giving up on the exchange closes it.
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, MAX_OBJECT_BYTES: String(1 * MiB), UPSTREAM_TIMEOUT_MS: '600000' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const get = streamingGet(`${edge.url}/huge`);
  get.body.catch(() => undefined);
  const head = await get.head;
  t.is(head.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=too-large');
  await get.firstChunk;
  get.abort();
  await upstreamClosed.wait;
  // Ended by the edge, so counted with the status the origin sent, not as an upstream error.
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { code: '2xx' }), 1);
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { code: 'error' }), 0);
});

test('a request body over MAX_REQUEST_BODY_BYTES gets 413 and the upstream never sees the request', async (t) => {
  const upstream = await startUpstream((_req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`got ${body.length}`);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, MAX_REQUEST_BODY_BYTES: String(64 * KiB) });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  // Declared length over the limit: refused before anything goes upstream.
  const declared = await request(`${edge.url}/upload`, { method: 'POST', body: 'x'.repeat(64 * KiB + 1) });
  t.is(declared.status, 413);
  t.is(JSON.parse(declared.body).error, 'body_too_large');
  // Chunked, growing past the limit: the upstream request is cut short, never completed.
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = http.request(`${edge.url}/upload`, { method: 'POST', agent: false, headers: { 'transfer-encoding': 'chunked' } }, (res) => {
      res.resume();
      resolve(res.statusCode as number);
    });
    req.on('error', reject);
    for (let i = 0; i < 4; i++) req.write(Buffer.alloc(32 * KiB, 1));
    req.end();
  });
  t.is(chunked, 413);
  t.is(upstream.requests.length, 0, 'no request reached the upstream whole');
  // Within the limit, streamed: the upstream gets it all, with its length.
  const fits = await request(`${edge.url}/upload`, { method: 'POST', body: 'y'.repeat(64 * KiB) });
  t.is(fits.status, 200);
  t.is(fits.body, `got ${64 * KiB}`);
  t.is(upstream.requests[0]?.headers['content-length'], String(64 * KiB));
});
