// Conformance tests, one behaviour each, named by the RFC section they check.
import type http from 'node:http';
import test from 'ava';
import { defaultHandler, hitTtlWithin, metricValue, request, startEdge, startUpstream, testClock, type Handler } from './helpers.ts';

async function rig(t: import('ava').ExecutionContext, handler: Handler = defaultHandler, env: Record<string, string> = {}) {
  const clock = testClock();
  const upstream = await startUpstream(handler, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ...env }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  return { upstream, edge, get: (path: string, headers: Record<string, string> = {}, method = 'GET') => request(`${edge.url}${path}`, { headers, method }) };
}

/** An upstream with validators: answers 304 to a matching If-None-Match, else 200 with `headers`. */
function validating(headers: http.OutgoingHttpHeaders, notModifiedHeaders: http.OutgoingHttpHeaders = {}): Handler {
  return (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') {
      res.writeHead(304, { etag: '"v1"', ...notModifiedHeaders });
      res.end();
      return;
    }
    res.writeHead(200, { etag: '"v1"', 'last-modified': 'Thu, 01 Jan 2026 00:00:00 GMT', ...headers });
    res.end('payload');
  };
}

test('RFC 9111 §5.2.1.1 request max-age: an older stored response is revalidated', async (t) => {
  const { get, upstream, edge } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  await get('/r');
  edge.advance(10_000);
  const answer = await get('/r', { 'cache-control': 'max-age=5' });
  t.is(answer.status, 200);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=request; fwd-status=304; stored');
  t.is(upstream.requests[1]?.headers['if-none-match'], '"v1"');
  t.is(upstream.requests[1]?.headers['if-modified-since'], 'Thu, 01 Jan 2026 00:00:00 GMT');
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'revalidated' }), 1);
});

test('RFC 9111 §5.2.1.2 request max-stale: a stale response within the bound is served', async (t) => {
  const { get, upstream, edge } = await rig(t, validating({ 'cache-control': 'max-age=10' }));
  await get('/r');
  edge.advance(15_000);
  const within = await get('/r', { 'cache-control': 'max-stale=10' });
  t.regex(within.headers['cache-status'] as string, /^cdn-lab; hit; ttl=-\d+; detail=max-stale$/);
  t.is(upstream.requests.length, 1);
  const beyond = await get('/r', { 'cache-control': 'max-stale=2' });
  t.regex(beyond.headers['cache-status'] as string, /fwd=stale/);
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §5.2.1.3 request min-fresh: not fresh enough for the client means revalidate', async (t) => {
  const { get, upstream, edge } = await rig(t, validating({ 'cache-control': 'max-age=60' }));
  await get('/r');
  edge.advance(50_000);
  t.regex((await get('/r', { 'cache-control': 'min-fresh=5' })).headers['cache-status'] as string, /hit/);
  const answer = await get('/r', { 'cache-control': 'min-fresh=20' });
  t.regex(answer.headers['cache-status'] as string, /fwd=request/);
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §5.2.1.4 request no-cache: a fresh stored response is validated first', async (t) => {
  const { get, upstream } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  await get('/r');
  const answer = await get('/r', { 'cache-control': 'no-cache' });
  t.is(answer.body, 'payload');
  t.regex(answer.headers['cache-status'] as string, /fwd=request; fwd-status=304/);
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §5.4 Pragma: no-cache acts only when Cache-Control is absent', async (t) => {
  const { get, upstream } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  await get('/r');
  t.regex((await get('/r', { pragma: 'no-cache', 'cache-control': 'max-stale' })).headers['cache-status'] as string, /hit/);
  t.is(upstream.requests.length, 1);
  t.regex((await get('/r', { pragma: 'no-cache' })).headers['cache-status'] as string, /fwd=request/);
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §5.2.1.5 request no-store: the response is not stored', async (t) => {
  const { get, upstream, edge } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  const answer = await get('/r', { 'cache-control': 'no-store' });
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=bypass; detail=no-store');
  t.is(edge.edge.store.count, 0);
  await get('/r');
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §5.2.1.7 only-if-cached: 504 on a miss, a hit when stored', async (t) => {
  const { get, upstream } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  const miss = await get('/r', { 'cache-control': 'only-if-cached' });
  t.is(miss.status, 504);
  t.is(miss.headers['cache-status'], 'cdn-lab; detail=only-if-cached');
  t.is(upstream.requests.length, 0);
  await get('/r');
  t.is((await get('/r', { 'cache-control': 'only-if-cached' })).status, 200);
  t.is(upstream.requests.length, 1);
});

test('RFC 9111 §4.3.4 a 304 freshens the stored response and updates its header fields', async (t) => {
  const { get, upstream, edge } = await rig(t, validating({ 'cache-control': 'max-age=10', 'x-version': 'one' }, { 'cache-control': 'max-age=100', 'x-version': 'two' }));
  await get('/r');
  edge.advance(20_000);
  const revalidated = await get('/r');
  t.is(revalidated.status, 200);
  t.is(revalidated.body, 'payload');
  t.is(revalidated.headers['x-version'], 'two');
  t.is(revalidated.headers['cache-status'], 'cdn-lab; fwd=stale; fwd-status=304; stored');
  edge.advance(50_000);
  const hit = await get('/r');
  t.true(hitTtlWithin(hit.headers['cache-status'], 50), String(hit.headers['cache-status']));
  t.is(hit.headers['x-version'], 'two');
  t.is(upstream.requests.length, 2);
});

test('RFC 9111 §4.3.2 a client conditional request is answered 304 from the cache', async (t) => {
  const { get, upstream } = await rig(t, validating({ 'cache-control': 'max-age=600' }));
  const miss = await get('/r', { 'if-none-match': '"v1"' });
  t.is(miss.status, 304, 'a conditional miss is fetched in full, then answered 304');
  t.is(upstream.requests[0]?.headers['if-none-match'], undefined);
  const hit = await get('/r', { 'if-none-match': 'W/"v1"' });
  t.is(hit.status, 304);
  t.is(hit.body, '');
  t.is(hit.headers.etag, '"v1"');
  t.regex(hit.headers['cache-status'] as string, /hit/);
  t.is((await get('/r', { 'if-modified-since': 'Fri, 02 Jan 2026 00:00:00 GMT' })).status, 304);
  t.is((await get('/r', { 'if-none-match': '"other"' })).status, 200);
  t.is(upstream.requests.length, 1);
});

test('RFC 9111 §4.1 Vary: one stored variant per selecting header value; Vary: * is never reused', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const star = req.url === '/star';
    res.writeHead(200, { 'cache-control': 'max-age=600', vary: star ? '*' : 'Accept-Encoding' });
    res.end(`${req.headers['accept-encoding'] ?? 'none'}`);
  });
  t.is((await get('/v', { 'accept-encoding': 'gzip' })).body, 'gzip');
  const other = await get('/v', { 'accept-encoding': 'br' });
  t.is(other.body, 'br');
  t.is(other.headers['cache-status'], 'cdn-lab; fwd=vary-miss; stored');
  t.is((await get('/v', { 'accept-encoding': 'gzip' })).body, 'gzip');
  t.is((await get('/v', { 'accept-encoding': 'br' })).body, 'br');
  t.is(upstream.count('/v'), 2);
  await get('/star');
  await get('/star');
  t.is(upstream.count('/star'), 2);
});

test('RFC 9111 §4.4 an unsafe method invalidates the target URI and its Location', async (t) => {
  const { get, upstream, edge } = await rig(t, (req, res) => {
    if (req.method === 'POST') {
      res.writeHead(201, { location: '/other' });
      res.end('created');
      return;
    }
    res.writeHead(200, { 'cache-control': 'max-age=600' });
    res.end(req.url);
  });
  await get('/target');
  await get('/other');
  t.is(edge.edge.store.count, 2);
  const post = await request(`${edge.url}/target`, { method: 'POST', body: 'hello' });
  t.is(post.status, 201);
  t.is(post.headers['cache-status'], 'cdn-lab; fwd=method');
  t.is(edge.edge.store.count, 0);
  await get('/target');
  t.is(upstream.count('/target'), 3);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'bypass', code: '2xx' }), 1);
});

test('RFC 5861 §3 stale-while-revalidate: stale served at once, one background revalidation per key', async (t) => {
  // The first fill is answered at once; the revalidation is held until the stale answers are in.
  const held: (() => void)[] = [];
  const { get, upstream, edge } = await rig(t, (_req, res) => {
    const send = () => {
      res.writeHead(200, { 'cache-control': 'max-age=10, stale-while-revalidate=60' });
      res.end(`v${upstream.requests.length}`);
    };
    if (upstream.requests.length === 1) send();
    else held.push(send);
  });
  await get('/s');
  edge.advance(20_000);
  const answers = await Promise.all(Array.from({ length: 10 }, () => get('/s')));
  t.true(answers.every((a) => a.body === 'v1' && /detail=stale-while-revalidate/.test(a.headers['cache-status'] as string)));
  for (let i = 0; i < 200 && held.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(upstream.requests.length, 2, 'one background revalidation for ten stale hits');
  held.splice(0).forEach((send) => send());
  let fresh = await get('/s');
  for (let i = 0; i < 200 && fresh.body !== 'v2'; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    fresh = await get('/s');
  }
  t.is(fresh.body, 'v2');
  t.regex(fresh.headers['cache-status'] as string, /^cdn-lab; hit; ttl=\d+$/);
  t.is(upstream.requests.length, 2);
});

test('RFC 5861 §4 stale-if-error: an upstream error is hidden behind the stale response', async (t) => {
  let failing = false;
  const { get, edge } = await rig(t, (_req, res) => {
    if (failing) {
      res.writeHead(503);
      res.end('down');
      return;
    }
    res.writeHead(200, { 'cache-control': 'max-age=10, stale-if-error=60' });
    res.end('good');
  });
  await get('/e');
  failing = true;
  edge.advance(20_000);
  const answer = await get('/e');
  t.is(answer.status, 200);
  t.is(answer.body, 'good');
  t.regex(answer.headers['cache-status'] as string, /fwd=stale; fwd-status=503; ttl=-\d+; detail=stale-if-error/);
  edge.advance(120_000);
  t.is((await get('/e')).status, 503, 'beyond the window the error goes through');
});

for (const directive of ['must-revalidate', 'proxy-revalidate', 's-maxage=10']) {
  test(`RFC 9111 §5.2.2.2/§5.2.2.8/§5.2.2.10 ${directive}: never served stale, an error (502) instead`, async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'cache-control': `max-age=10, ${directive}, stale-if-error=60, stale-while-revalidate=60` });
      res.end('x');
    });
    // The default deadline: the closed upstream refuses at once, while a 300 ms one let a slow
    // first fill on a loaded machine time out and leave nothing stored.
    const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
    t.teardown(() => edge.close());
    t.is((await request(`${edge.url}/m`)).headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
    await upstream.close();
    edge.advance(30_000);
    const answer = await request(`${edge.url}/m`, { headers: { 'cache-control': 'max-stale=100' } });
    t.is(answer.status, 502);
    t.is(answer.headers['cache-status'], 'cdn-lab; fwd=stale; detail=upstream-error');
  });
}

test('RFC 9111 §5.2.2.7 a private response is never shared with coalesced followers', async (t) => {
  const held: (() => void)[] = [];
  const { edge, upstream } = await rig(t, (req, res) => {
    held.push(() => {
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(`for ${req.headers['x-user']}`);
    });
  });
  const pending = Promise.all(Array.from({ length: 5 }, (_, i) => request(`${edge.url}/me`, { headers: { 'x-user': `u${i}` } })));
  for (let i = 0; i < 500 && upstream.requests.length < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  for (let i = 0; i < 500 && edge.edge.coalescer.waiting < 4; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  held.shift()?.();
  for (let i = 0; i < 500 && upstream.requests.length < 5; i++) {
    held.splice(0).forEach((send) => send());
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  held.splice(0).forEach((send) => send());
  const answers = await pending;
  t.deepEqual(answers.map((a) => a.body), ['for u0', 'for u1', 'for u2', 'for u3', 'for u4']);
  t.is(upstream.requests.length, 5);
});

test('RFC 9213 CDN-Cache-Control takes precedence over Cache-Control', async (t) => {
  const { get, upstream, edge } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'no-store', 'cdn-cache-control': 'max-age=300' });
    res.end('x');
  });
  await get('/c');
  edge.advance(200_000);
  const hit = await get('/c');
  t.true(hitTtlWithin(hit.headers['cache-status'], 100), String(hit.headers['cache-status']));
  t.is(hit.headers['cache-control'], 'no-store', 'Cache-Control still goes to the client');
  t.is(upstream.requests.length, 1);
});

test('RFC 9110 §14 Range requests are served from the complete stored response (206/416)', async (t) => {
  const { get, upstream } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=600', etag: '"r"' });
    res.end('0123456789');
  });
  const first = await get('/range', { range: 'bytes=2-4' });
  t.is(first.status, 206);
  t.is(first.body, '234');
  t.is(first.headers['content-range'], 'bytes 2-4/10');
  t.is(upstream.requests[0]?.headers.range, 'bytes=0-1048575', 'a Range miss asks for the slice that covers it (RANGE_SLICE_BYTES)');
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored', 'this upstream ignores Range: its 200 fills the cache whole');
  t.is((await get('/range', { range: 'bytes=-3' })).body, '789');
  const bad = await get('/range', { range: 'bytes=50-' });
  t.is(bad.status, 416);
  t.is(bad.headers['content-range'], 'bytes */10');
  t.is((await get('/range', { range: 'bytes=0-1', 'if-range': '"stale"' })).status, 200);
  t.is(upstream.requests.length, 1);
});

test('RFC 9110 §7.6.1 hop-by-hop fields are stripped both ways; §7.6.3 Via is added both ways', async (t) => {
  const { get, upstream } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', connection: 'x-upstream-hop', 'x-upstream-hop': '1', 'keep-alive': 'timeout=5', 'x-end': 'kept' });
    res.end('x');
  });
  const answer = await get('/h', { connection: 'x-client-hop', 'x-client-hop': '1', 'x-end-client': 'kept', te: 'trailers' });
  const seen = upstream.requests[0]?.headers ?? {};
  t.is(seen['x-client-hop'], undefined);
  t.is(seen.te, undefined);
  t.is(seen['x-end-client'], 'kept');
  t.is(seen.via, '1.1 edge-0');
  t.is(answer.headers['x-upstream-hop'], undefined);
  t.is(answer.headers['x-end'], 'kept');
  t.is(answer.headers.via, '1.1 edge-0');
});

test('RFC 9110 §9.3.2 HEAD is answered from the stored GET; a HEAD miss fills the cache with GET', async (t) => {
  const { get, upstream } = await rig(t);
  const head = await get('/obj/h', {}, 'HEAD');
  t.is(head.status, 200);
  t.is(head.body, '');
  t.is(upstream.requests[0]?.method, 'GET');
  const hit = await get('/obj/h', {}, 'HEAD');
  t.regex(hit.headers['cache-status'] as string, /hit/);
  t.is(hit.headers['content-length'], String('body of /obj/h'.length));
  t.is((await get('/obj/h')).body, 'body of /obj/h');
  t.is(upstream.requests.length, 1);
});

test('responses with Set-Cookie are not stored', async (t) => {
  const { get, upstream } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'set-cookie': 'session=1' });
    res.end('x');
  });
  t.is((await get('/sc')).headers['cache-status'], 'cdn-lab; fwd=bypass; detail=set-cookie');
  await get('/sc');
  t.is(upstream.requests.length, 2);
});

test('negative caching: a 404 without explicit freshness is kept NEGATIVE_TTL_S', async (t) => {
  const { get, upstream, edge } = await rig(t, (_req, res) => {
    res.writeHead(404);
    res.end('missing');
  }, { NEGATIVE_TTL_S: '5' });
  await get('/gone');
  const hit = await get('/gone');
  t.is(hit.status, 404);
  t.true(hitTtlWithin(hit.headers['cache-status'], 5, 3), String(hit.headers['cache-status']));
  edge.advance(6000);
  await get('/gone');
  t.is(upstream.requests.length, 2);
});

test('requests with Authorization bypass the cache (RFC 9111 §3.5)', async (t) => {
  const { get, upstream, edge } = await rig(t);
  const answer = await get('/obj/a', { authorization: 'Bearer x' });
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=bypass; detail=authorization');
  t.is(upstream.requests[0]?.headers.authorization, 'Bearer x');
  t.is(edge.edge.store.count, 0);
});
