// The stored form of a response: one header list, source fields kept aside only when present, and a
// body Buffer that owns exactly its bytes.
import test from 'ava';
import http from 'node:http';
import { buildStoredResponse, refreshStoredResponse, sourceHeadersOf, storedFields } from '../src/stored-response.ts';
import { exactBody } from '../src/upstream.ts';
import { request, startEdge, startUpstream } from './helpers.ts';

const build = (headers: http.IncomingHttpHeaders, body = Buffer.from('hello')) =>
  buildStoredResponse({
    primaryKey: '/a',
    requestHeaders: {},
    requestDirectives: new Map(),
    method: 'GET',
    status: 200,
    headers,
    body,
    requestTime: 1000,
    responseTime: 1000,
    via: 'edge-1',
    negativeTtlMs: 0,
  });

test('exactBody: a small concatenation is copied out of the shared pool; an exact single chunk is kept', (t) => {
  const parts = [Buffer.from('ab'), Buffer.from('cd')];
  t.not(Buffer.concat(parts).buffer.byteLength, 4, 'precondition: Buffer.concat of 4 bytes is a pool slice');
  const joined = exactBody(parts, 4);
  t.is(joined.toString(), 'abcd');
  t.is(joined.buffer.byteLength, joined.length);
  t.is(joined.byteOffset, 0);
  const slice = Buffer.from('xxhelloxx').subarray(2, 7);
  const copied = exactBody([slice], 5);
  t.is(copied.toString(), 'hello');
  t.is(copied.buffer.byteLength, 5);
  const own = Buffer.allocUnsafeSlow(3).fill(1);
  t.is(exactBody([own], 3), own);
  t.is(exactBody([], 0).length, 0);
});

test('a body fetched in several small chunks is stored as one exact-size Buffer', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=60' });
    // Chunked, flushed separately: the edge receives several small pieces.
    res.write('part-1;');
    setTimeout(() => {
      res.write('part-2;');
      setTimeout(() => res.end('part-3'), 20);
    }, 20);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const answer = await request(`${edge.url}/chunked`);
  t.is(answer.body, 'part-1;part-2;part-3');
  const entry = edge.edge.store.policy.peek('/chunked');
  t.truthy(entry);
  t.is(entry?.body.toString(), 'part-1;part-2;part-3');
  t.is(entry?.body.buffer.byteLength, entry?.body.length);
});

test('one header list: Via and Content-Length last; Surrogate-Key, Cache-Tag and the upstream Via kept aside', (t) => {
  const entry = build({ 'cache-control': 'max-age=60', etag: '"x"', 'surrogate-key': 'a b', via: '1.1 origin', connection: 'keep-alive', 'content-length': '5' });
  t.deepEqual(entry.hitHeaders, ['cache-control', 'max-age=60', 'etag', '"x"', 'via', '1.1 origin, 1.1 edge-1', 'content-length', '5']);
  t.deepEqual(entry.sourceExtras, ['via', '1.1 origin', 'surrogate-key', 'a b']);
  t.deepEqual(storedFields(entry), ['cache-control', 'max-age=60', 'etag', '"x"', 'via', '1.1 origin, 1.1 edge-1']);
  t.deepEqual(sourceHeadersOf(entry), { 'cache-control': 'max-age=60', etag: '"x"', via: '1.1 origin', 'surrogate-key': 'a b' });
  t.deepEqual(entry.tags, ['a', 'b']);
  const plain = build({ 'cache-control': 'max-age=60' });
  t.is(plain.sourceExtras, undefined);
  t.deepEqual(plain.tags, []);
  t.deepEqual(plain.varyNames, []);
});

test('tags: Surrogate-Key split on any whitespace, Cache-Tag on commas, trimmed, each once, in order', (t) => {
  t.deepEqual(build({ 'surrogate-key': '  a\tb  a ', 'cache-tag': ' b, c ,,d,c' }).tags, ['a', 'b', 'c', 'd']);
  t.deepEqual(build({ 'surrogate-key': '   ', 'cache-tag': ' , ' }).tags, []);
  const many = Array.from({ length: 40 }, (_, i) => `k${i % 20}`).join(' ');
  t.deepEqual(build({ 'surrogate-key': many }).tags, Array.from({ length: 20 }, (_, i) => `k${i}`));
});

test('a 304 update rebuilds from the compact form: Via not doubled, tags and repeated fields kept', (t) => {
  const entry = build({ 'cache-control': 'max-age=60', link: ['<a>', '<b>'], 'cache-tag': 't1,t2', via: '1.1 origin' });
  const refreshed = refreshStoredResponse(
    entry,
    { headers: { 'cache-control': 'max-age=120', date: 'Mon, 23 Nov 2026 10:00:00 GMT' }, requestTime: 2000, responseTime: 2000 },
    { requestHeaders: {}, requestDirectives: new Map(), via: 'edge-1', negativeTtlMs: 0 },
  );
  t.is(refreshed.lifetimeMs, 120_000);
  t.is(refreshed.body, entry.body);
  t.deepEqual(refreshed.tags, ['t1', 't2']);
  t.deepEqual(refreshed.hitHeaders, [
    'cache-control', 'max-age=120', 'link', '<a>', 'link', '<b>', 'date', 'Mon, 23 Nov 2026 10:00:00 GMT',
    'via', '1.1 origin, 1.1 edge-1', 'content-length', '5',
  ]);
});
