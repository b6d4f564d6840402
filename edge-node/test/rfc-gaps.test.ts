// Conformance tests for the last gaps to RFC 9111 and its companions, one behaviour each, named by
// the section they check (the rest are in rfc.test.ts).
import type http from 'node:http';
import test from 'ava';
import { hitTtlWithin, request, startEdge, startUpstream, testClock, type Handler } from './helpers.ts';

async function rig(t: import('ava').ExecutionContext, handler: Handler, env: Record<string, string> = {}) {
  const clock = testClock();
  const upstream = await startUpstream(handler, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ...env }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  return { upstream, edge, get: (path: string, headers: Record<string, string> = {}, method = 'GET') => request(`${edge.url}${path}`, { headers, method }) };
}

const isHit = (answer: { headers: http.IncomingHttpHeaders }) => /^cdn-lab; hit; ttl=\d+$/.test(String(answer.headers['cache-status']));

// RFC 9111 §5.1: a list counts by its first member (a repeated field too), an invalid value is
// ignored; §1.2.2: beyond 2^31 is 2^31. Each response has max-age=3600 (10000 for the last) and an
// ETag, so a stale one is kept and revalidated rather than reused.
const AGES: { name: string; age: string | string[]; fresh: boolean; maxAge?: number }[] = [
  { name: 'non-numeric', age: 'abc', fresh: true },
  { name: 'negative', age: '-7200', fresh: true },
  { name: 'fractional', age: '7200.0', fresh: true },
  { name: '2^31 - 1', age: '2147483647', fresh: false },
  { name: '2^31 + 1', age: '2147483649', fresh: false },
  { name: 'list "old, 0"', age: '7200, 0', fresh: false },
  { name: 'list "0, old"', age: '0, 7200', fresh: true },
  { name: 'list "0, 0"', age: '0, 0', fresh: true },
  { name: 'two lines old, 0', age: ['7200', '0'], fresh: false },
  { name: 'two lines 0, old', age: ['0', '7200'], fresh: true },
  { name: 'two lines 0, 0', age: ['0', '0'], fresh: true },
  { name: 'two lines 3600, 3600 (max-age=10000)', age: ['3600', '3600'], fresh: true, maxAge: 10_000 },
  { name: 'parameter "7200;foo=bar"', age: '7200;foo=bar', fresh: false },
];

test('RFC 9111 §5.1, §1.2.2 Age: first member of a list, invalid values ignored, capped at 2^31', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const index = Number((req.url as string).slice('/age/'.length));
    const { age, maxAge } = AGES[index] as (typeof AGES)[number];
    res.setHeader('age', age);
    res.writeHead(200, { 'cache-control': `max-age=${maxAge ?? 3600}`, etag: '"a"' });
    res.end('aged');
  });
  for (const [index, { name, fresh }] of AGES.entries()) {
    await get(`/age/${index}`);
    const second = await get(`/age/${index}`);
    t.is(isHit(second), fresh, `Age ${name}: ${String(second.headers['cache-status'])}`);
    t.is(upstream.count(`/age/${index}`), fresh ? 1 : 2, `Age ${name}`);
    if (!fresh) t.is(upstream.requests.at(-1)?.headers['if-none-match'], '"a"', `Age ${name}: revalidated`);
  }
});

test('RFC 9111 §3.2, §4.3.4 a 304 updates stored fields but not those describing the stored body', async (t) => {
  const { get, upstream, edge } = await rig(t, (req, res) => {
    if (req.headers['if-none-match'] === '"v1"') {
      // Content-Length as a 200 would have it if the body had changed: it must neither break the exchange nor replace ours.
      res.writeHead(304, {
        etag: '"v1"',
        'cache-control': 'max-age=100',
        'content-length': '10',
        'content-encoding': 'br',
        'content-md5': 'N7UdGUp1E+RbVvZSTy1R8g==',
        'content-type': 'text/plain;charset=utf-8',
        'x-test': 'two',
      });
      res.end();
      return;
    }
    res.writeHead(200, {
      etag: '"v1"',
      'cache-control': 'max-age=10',
      'content-encoding': 'gzip',
      'content-md5': 'rL0Y20zC+Fzt72VPzMSk2A==',
      'content-type': 'text/plain',
      'x-test': 'one',
    });
    res.end('payload');
  });
  await get('/u');
  edge.advance(20_000);
  for (const answer of [await get('/u'), await get('/u')]) {
    t.is(answer.status, 200);
    t.is(answer.body, 'payload');
    t.is(answer.headers['content-length'], '7');
    t.is(answer.headers['content-encoding'], 'gzip');
    t.is(answer.headers['content-md5'], 'rL0Y20zC+Fzt72VPzMSk2A==');
    t.is(answer.headers.etag, '"v1"');
    t.is(answer.headers['x-test'], 'two');
    t.is(answer.headers['content-type'], 'text/plain;charset=utf-8');
  }
  t.is(upstream.requests.length, 2, 'the second answer is a hit on the freshened entry');
});

test('RFC 9111 §4.3.4 a 304 naming another entity-tag does not freshen the stored response', async (t) => {
  const { get, upstream, edge } = await rig(t, (req, res) => {
    if (req.headers['if-none-match'] !== undefined) {
      res.writeHead(304, { etag: '"v2"', 'cache-control': 'max-age=100' });
      res.end();
      return;
    }
    const version = upstream.requests.length === 1 ? 'v1' : 'v2';
    res.writeHead(200, { etag: `"${version}"`, 'cache-control': 'max-age=10' });
    res.end(version);
  });
  await get('/e');
  edge.advance(20_000);
  const answer = await get('/e');
  t.is(answer.body, 'v2', 'fetched in full, unconditionally');
  t.is(answer.headers.etag, '"v2"');
  t.is(upstream.requests.length, 3);
  t.is(upstream.requests[2]?.headers['if-none-match'], undefined);
  t.regex(String((await get('/e')).headers['cache-status']), /^cdn-lab; hit/);
});

test('RFC 9111 §5.2.2.3 must-understand: an unknown status is never stored; a known one is, despite no-store', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const status = req.url === '/mu/599' ? 599 : 200;
    const cc = req.url === '/mu/599-no-no-store' ? 'max-age=3600, must-understand' : 'max-age=3600, no-store, must-understand';
    res.writeHead(req.url === '/mu/599-no-no-store' ? 599 : status, { 'cache-control': cc });
    res.end('mu');
  });
  for (const path of ['/mu/599', '/mu/599-no-no-store']) {
    const first = await get(path);
    t.is(first.status, 599);
    t.is(first.headers['cache-status'], 'cdn-lab; fwd=bypass; detail=must-understand');
    await get(path);
    t.is(upstream.count(path), 2, `${path} is not reused`);
  }
  await get('/mu/200');
  t.true(isHit(await get('/mu/200')), 'a 200 with must-understand is stored although it says no-store');
  t.is(upstream.count('/mu/200'), 1);
});

test('Surrogate-Control (W3C Edge Architecture): ranked below CDN-Cache-Control, above Cache-Control, stripped for clients', async (t) => {
  const fields: Record<string, http.OutgoingHttpHeaders> = {
    '/sc/shorter': { 'cache-control': 'max-age=600', 'surrogate-control': 'max-age=60' },
    '/sc/no-store': { 'cache-control': 'max-age=600', 'surrogate-control': 'no-store' },
    '/sc/longer': { 'cache-control': 'no-store', 'surrogate-control': 'max-age=600' },
    '/sc/targeted': { 'cache-control': 'max-age=600', 'surrogate-control': 'max-age=5, max-age=300;cdn-lab, no-store;other-cdn' },
    '/sc/case': { 'cache-control': 'max-age=5', 'surrogate-control': 'content="ESI/1.0", X-Unknown=1, MAX-AGE=300' },
    '/sc/only-unknown': { 'cache-control': 'max-age=600', 'surrogate-control': 'content="ESI/1.0"' },
    '/sc/cdn-cc': { 'cache-control': 'max-age=5', 'surrogate-control': 'no-store', 'cdn-cache-control': 'max-age=300' },
    '/sc/remote-no-store': { 'cache-control': 'max-age=600', 'surrogate-control': 'no-store-remote' },
  };
  const { get, upstream, edge } = await rig(t, (req, res) => {
    res.writeHead(200, fields[req.url as string]);
    res.end('sc');
  });
  for (const path of Object.keys(fields)) {
    const first = await get(path);
    t.is(first.headers['surrogate-control'], undefined, `${path}: stripped before the client`);
  }
  for (const path of ['/sc/no-store', '/sc/remote-no-store']) {
    t.is((await get(path)).headers['cache-status'], 'cdn-lab; fwd=bypass; detail=no-store', path);
  }
  edge.advance(100_000);
  const after = Object.fromEntries(await Promise.all(Object.keys(fields).map(async (path) => [path, await get(path)] as const)));
  t.false(isHit(after['/sc/shorter']!), 'Surrogate-Control max-age=60 wins over Cache-Control max-age=600');
  t.true(isHit(after['/sc/longer']!), 'Surrogate-Control max-age=600 wins over Cache-Control no-store');
  t.true(hitTtlWithin(after['/sc/targeted']!.headers['cache-status'], 200), 'the directive targeted at cdn-lab wins');
  t.true(isHit(after['/sc/case']!), 'names are case-insensitive, unknown extensions ignored');
  t.true(isHit(after['/sc/only-unknown']!), 'without a directive for this edge, Cache-Control applies');
  t.true(isHit(after['/sc/cdn-cc']!), 'CDN-Cache-Control outranks Surrogate-Control');
  for (const answer of Object.values(after)) t.is(answer.headers['surrogate-control'], undefined);
  t.is(upstream.count('/sc/no-store'), 3);
  t.is(upstream.count('/sc/longer'), 1);
});

test('RFC 9111 §7.3 Set-Cookie: STORE_SET_COOKIE=true stores such responses (off by default)', async (t) => {
  const { get, upstream } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' });
    res.end('cookie');
  }, { STORE_SET_COOKIE: 'true' });
  t.is((await get('/c')).headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  const hit = await get('/c');
  t.true(isHit(hit));
  t.deepEqual(hit.headers['set-cookie'], ['a=b']);
  t.is(upstream.requests.length, 1);
});

test('RFC 9111 §4.2.2, RFC 9110 §15.1 heuristic freshness: heuristically cacheable codes, or public', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const headers: http.OutgoingHttpHeaders = { 'last-modified': new Date(Date.now() - 86_400_000).toUTCString() };
    if (req.url === '/h/599-public') headers['cache-control'] = 'public';
    res.writeHead(req.url === '/h/200' ? 200 : 599, headers);
    res.end('h');
  });
  for (const [path, reused] of [['/h/200', true], ['/h/599', false], ['/h/599-public', true]] as const) {
    await get(path);
    t.is(isHit(await get(path)), reused, path);
    t.is(upstream.count(path), reused ? 1 : 2, path);
  }
});

test('RFC 9111 §3.5 Authorization: reused when public, s-maxage or must-revalidate allow it, else never shared', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const cc = { '/a/public': 'public, max-age=3600', '/a/s-maxage': 's-maxage=3600', '/a/must-revalidate': 'max-age=3600, must-revalidate', '/a/plain': 'max-age=3600' }[req.url as string];
    res.writeHead(200, { 'cache-control': cc as string });
    res.end(`for ${req.headers.authorization ?? 'nobody'}`);
  });
  for (const path of ['/a/public', '/a/s-maxage', '/a/must-revalidate']) {
    t.is((await get(path, { authorization: 'Bearer one' })).headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored', path);
    t.true(isHit(await get(path, { authorization: 'Bearer one' })), path);
    t.true(isHit(await get(path)), `${path} without Authorization`);
    t.is(upstream.count(path), 1);
  }
  t.is((await get('/a/plain', { authorization: 'Bearer one' })).headers['cache-status'], 'cdn-lab; fwd=bypass; detail=authorization');
  const other = await get('/a/plain', { authorization: 'Bearer two' });
  t.is(other.body, 'for Bearer two');
  t.is((await get('/a/plain')).body, 'for nobody');
  t.is(upstream.count('/a/plain'), 3);
});

test('RFC 9111 §4.3.2, RFC 9110 §13.1.3 If-Modified-Since is answered 304 from a fresh response without Last-Modified by its Date', async (t) => {
  const { get, upstream } = await rig(t, (_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=3600' });
    res.end('dated');
  });
  const first = await get('/d');
  const date = Date.parse(String(first.headers.date));
  const later = await get('/d', { 'if-modified-since': new Date(date + 60_000).toUTCString() });
  t.is(later.status, 304);
  t.regex(String(later.headers['cache-status']), /^cdn-lab; hit/);
  t.is((await get('/d', { 'if-modified-since': new Date(date - 60_000).toUTCString() })).status, 200);
  t.is(upstream.requests.length, 1);
});

test('RFC 9111 §4.1, RFC 9110 §12.5.4 Vary: Accept-Language matches whatever the order, case and whitespace of equal preferences', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    // No Content-Language: only the normalised value can select this variant.
    res.writeHead(200, { 'cache-control': 'max-age=3600', vary: 'Accept-Language' });
    res.end(`for ${req.headers['accept-language']}`);
  });
  await get('/l', { 'accept-language': 'en, de;q=0.5, fr' });
  for (const value of ['fr, en, de;q=0.5', 'EN, Fr, De;Q=0.5', ' en ,fr,   de ; q=0.50']) {
    const answer = await get('/l', { 'accept-language': value });
    t.true(isHit(answer), `${value}: ${String(answer.headers['cache-status'])}`);
  }
  t.is((await get('/l', { 'accept-language': 'en, de, fr' })).headers['cache-status'], 'cdn-lab; fwd=vary-miss; stored', 'other qvalues are another variant');
  t.is(upstream.requests.length, 2);
});

test('RFC 9110 §9.3.3 a POST response with explicit freshness and Content-Location of its target answers later GETs', async (t) => {
  const { get, upstream, edge } = await rig(t, (req, res) => {
    if (req.method === 'POST') {
      const headers: http.OutgoingHttpHeaders = { 'cache-control': 'max-age=3600' };
      if (req.url === '/p/same') headers['content-location'] = '/p/same';
      if (req.url === '/p/other') headers['content-location'] = '/p/elsewhere';
      res.writeHead(200, headers);
      res.end(`posted ${req.url}`);
      return;
    }
    res.writeHead(200, { 'cache-control': 'max-age=3600' });
    res.end(`got ${req.url}`);
  });
  for (const path of ['/p/same', '/p/other', '/p/none']) {
    const post = await request(`${edge.url}${path}`, { method: 'POST', body: 'x' });
    t.is(post.headers['cache-status'], path === '/p/same' ? 'cdn-lab; fwd=method; stored' : 'cdn-lab; fwd=method', path);
  }
  const reused = await get('/p/same');
  t.is(reused.body, 'posted /p/same');
  t.true(isHit(reused));
  t.is((await get('/p/same', {}, 'HEAD')).status, 200);
  t.is((await get('/p/other')).body, 'got /p/other');
  t.is((await get('/p/none')).body, 'got /p/none');
  t.is(upstream.requests.filter((r) => r.method === 'GET').length, 2);
  t.is(edge.edge.store.count, 3);
});

test('RFC 9111 §4.1, RFC 9110 §12.5.4 Vary: Accept-Language reuses a variant whose Content-Language the request ranks highest', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=3600', vary: 'Accept-Language, Accept-Encoding', 'content-language': 'de' });
    res.end(`for ${req.headers['accept-language']}`);
  });
  await get('/n', { 'accept-language': 'en, de', 'accept-encoding': 'gzip' });
  const best = await get('/n', { 'accept-language': 'fr;q=0.5, de;q=1.0', 'accept-encoding': 'gzip' });
  t.true(isHit(best), String(best.headers['cache-status']));
  t.is(best.body, 'for en, de');
  t.true(isHit(await get('/n', { 'accept-language': 'de-CH;q=0.2, de', 'accept-encoding': 'gzip' })), 'the most specific range decides');
  for (const [language, encoding] of [['fr, de;q=0.9', 'gzip'], ['de;q=0, *', 'gzip'], ['de', 'br']]) {
    const answer = await get('/n', { 'accept-language': language as string, 'accept-encoding': encoding as string });
    t.is(answer.headers['cache-status'], 'cdn-lab; fwd=vary-miss; stored', `${language} / ${encoding}`);
  }
  t.is(upstream.requests.length, 4);
});

test('RFC 9110 §13.1.1 a GET passed through for its If-Match precondition is not stored', async (t) => {
  const { get, upstream } = await rig(t, (req, res) => {
    const failed = req.headers['if-match'] !== undefined && req.headers['if-match'] !== '"v1"';
    res.writeHead(failed ? 412 : 200, { 'cache-control': 'max-age=3600', etag: '"v1"' });
    res.end(failed ? 'precondition failed' : 'current');
  });
  t.is((await get('/pm', { 'if-match': '"old"' })).status, 412);
  t.is((await get('/pm', { 'if-match': '"v1"' })).status, 200);
  const plain = await get('/pm');
  t.is(plain.status, 200);
  t.is(plain.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  t.is(upstream.requests.length, 3);
});
