// Conformance tests for partial content in the cache (RFC 9111 §3.3, §3.4; RFC 9110 §14): 206
// responses kept as partial entries, held ranges served from them, missing ones fetched with a Range
// request and combined. The origin here honours Range and If-Range like a conforming server.
import type http from 'node:http';
import test from 'ava';
import { metricValue, request, startEdge, startUpstream, testClock } from './helpers.ts';

/** 90 distinct printable ASCII bytes, so every slice of it is recognisable. */
const V1 = Array.from({ length: 90 }, (_, i) => String.fromCharCode(35 + i)).join('');
const V2 = [...V1].reverse().join('');

interface Representation {
  body: string;
  etag: string;
  cacheControl?: string;
  vary?: string;
}

/**
 * An origin serving one representation per test (changeable), with single byte ranges (206, or 416
 * past the end) and If-Range (a strong comparison: a weak tag never matches, RFC 9110 §13.1.5).
 * `ignoreIfRange`: a server that sends the range whatever If-Range says.
 */
async function rig(t: import('ava').ExecutionContext, env: Record<string, string> = {}, options: { ignoreIfRange?: boolean } = {}) {
  const clock = testClock();
  const state: { current: Representation } = { current: { body: V1, etag: '"v1"' } };
  const upstream = await startUpstream((req, res) => {
    const { body, etag, cacheControl, vary } = state.current;
    const headers: http.OutgoingHttpHeaders = { etag, 'cache-control': cacheControl ?? 'max-age=3600', 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
    if (vary) headers.vary = vary;
    const ifRange = req.headers['if-range'];
    const range = /^bytes=(\d*)-(\d*)$/.exec(String(req.headers.range));
    const rangeApplies = range !== null && (ifRange === undefined || options.ignoreIfRange === true || (!etag.startsWith('W/') && ifRange === etag));
    if (!rangeApplies) {
      res.writeHead(200, { ...headers, 'content-length': body.length });
      res.end(body);
      return;
    }
    const [, first = '', last = ''] = range;
    const start = first === '' ? Math.max(0, body.length - Number(last)) : Number(first);
    const end = first === '' || last === '' ? body.length - 1 : Math.min(Number(last), body.length - 1);
    if (start >= body.length) {
      res.writeHead(416, { 'content-range': `bytes */${body.length}` });
      res.end();
      return;
    }
    res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1 });
    res.end(body.slice(start, end + 1));
  }, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, RANGE_SLICE_BYTES: '10', ADMIN_TOKEN: 'test-admin-token', ...env }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const get = (range?: string, headers: Record<string, string> = {}, method = 'GET') =>
    request(`${edge.url}/r`, { method, headers: range === undefined ? headers : { ...headers, range } });
  const sent = () => upstream.requests.map((r) => ({ range: r.headers.range, ifRange: r.headers['if-range'] }));
  const stored = () => edge.edge.store.policy.peek('/r');
  return { upstream, edge, state, get, sent, stored };
}

const HIT = /^cdn-lab; hit; ttl=\d+$/;

test('RFC 9111 §3.3 a 206 is kept as a partial entry: ranges it holds are hits, the origin is asked once', async (t) => {
  const { get, upstream, stored, edge } = await rig(t, { MAX_OBJECT_BYTES: '50' });
  const first = await get('bytes=12-17');
  t.is(first.status, 206);
  t.is(first.body, V1.slice(12, 18));
  t.is(first.headers['content-range'], 'bytes 12-17/90');
  t.is(first.headers['content-length'], '6');
  t.is(first.headers['content-type'], 'application/octet-stream');
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  t.deepEqual(upstream.requests.map((r) => r.headers.range), ['bytes=10-19'], 'the slice that covers the range is asked');
  for (const [range, from, to] of [['bytes=10-19', 10, 19], ['bytes=15-16', 15, 16], ['bytes=19-19', 19, 19]] as const) {
    const answer = await get(range);
    t.is(answer.status, 206, range);
    t.is(answer.body, V1.slice(from, to + 1), range);
    t.is(answer.headers['content-range'], `bytes ${from}-${to}/90`, range);
    t.regex(String(answer.headers['cache-status']), HIT, range);
  }
  const head = await get(undefined, {}, 'HEAD');
  t.is(head.status, 200, 'HEAD is answered from the partial entry: the complete length is known');
  t.is(head.headers['content-length'], '90');
  t.regex(String(head.headers['cache-status']), HIT);
  const conditional = await get('bytes=30-39', { 'if-none-match': '"v1"' });
  t.is(conditional.status, 304, 'If-None-Match is answered before Range (RFC 9110 §13.2.2)');
  t.regex(String(conditional.headers['cache-status']), HIT);
  t.is(upstream.requests.length, 1);
  // Memory accounting: the entry counts the 10 bytes it holds (under MAX_OBJECT_BYTES, the object is not).
  const entry = stored();
  t.deepEqual(entry?.partial, { completeLength: 90, ranges: [10, 19] });
  t.is(entry?.body.toString(), V1.slice(10, 20));
  t.is(entry?.size, 10 + (entry?.hitHeaders.join('').length ?? 0), 'the bytes held and the header text');
  t.is(edge.edge.store.bytes, entry?.size ?? -1);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'hit' }), 5);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'miss' }), 1);
});

test('RFC 9111 §3.4 a range not held is asked upstream for the missing bytes with If-Range, and combined', async (t) => {
  const { get, sent, stored } = await rig(t);
  await get('bytes=12-17');
  const spanning = await get('bytes=15-34');
  t.is(spanning.status, 206);
  t.is(spanning.body, V1.slice(15, 35));
  t.is(spanning.headers['content-range'], 'bytes 15-34/90');
  t.is(spanning.headers['cache-status'], 'cdn-lab; fwd=partial; stored');
  t.deepEqual(sent()[1], { range: 'bytes=20-39', ifRange: '"v1"' }, 'only the missing bytes, in whole slices, conditional on the held ETag');
  t.deepEqual(stored()?.partial?.ranges, [10, 39]);
  const within = await get('bytes=10-39');
  t.is(within.body, V1.slice(10, 40));
  t.regex(String(within.headers['cache-status']), HIT);
  // A gap between two held parts: one request covers both sides' missing bytes.
  await get('bytes=60-61');
  t.deepEqual(stored()?.partial?.ranges, [10, 39, 60, 69]);
  const across = await get('bytes=35-65');
  t.is(across.body, V1.slice(35, 66));
  t.deepEqual(sent().at(-1), { range: 'bytes=40-59', ifRange: '"v1"' });
  t.deepEqual(stored()?.partial?.ranges, [10, 69]);
  t.is(sent().length, 4);
});

test('RFC 9111 §3.4 the parts combine into a complete 200 entry', async (t) => {
  const { get, sent, stored } = await rig(t);
  await get('bytes=0-9');
  const whole = await get();
  t.is(whole.status, 200);
  t.is(whole.body, V1);
  t.is(whole.headers['content-length'], '90');
  t.is(whole.headers['content-range'], undefined);
  t.is(whole.headers['cache-status'], 'cdn-lab; fwd=partial; stored');
  t.deepEqual(sent()[1], { range: 'bytes=10-89', ifRange: '"v1"' }, 'the rest, not the whole representation');
  const entry = stored();
  t.is(entry?.status, 200);
  t.is(entry?.partial, undefined);
  const again = await get();
  t.is(again.body, V1);
  t.regex(String(again.headers['cache-status']), HIT, 'a complete entry takes the fast path');
  t.is((await get('bytes=80-')).body, V1.slice(80));
  t.is(sent().length, 2);
});

test('RFC 9111 §3.4 a changed ETag: If-Range brings the new representation whole and the partial entry is dropped', async (t) => {
  const { get, state, sent, stored } = await rig(t);
  await get('bytes=0-9');
  state.current = { body: V2, etag: '"v2"' };
  const answer = await get('bytes=40-49');
  t.is(answer.status, 206);
  t.is(answer.body, V2.slice(40, 50), 'the new representation, never a mix');
  t.is(answer.headers.etag, '"v2"');
  t.deepEqual(sent()[1], { range: 'bytes=40-49', ifRange: '"v1"' });
  t.is(stored()?.partial, undefined, 'the origin answered 200: a complete entry replaces the partial one');
  const old = await get('bytes=0-9');
  t.is(old.body, V2.slice(0, 10));
  t.regex(String(old.headers['cache-status']), HIT);
  t.is(sent().length, 2);
});

test('RFC 9111 §3.4 a part with another ETag (If-Range ignored) replaces the partial entry; completion then fetches whole', async (t) => {
  const { get, state, sent, stored } = await rig(t, {}, { ignoreIfRange: true });
  await get('bytes=0-9');
  state.current = { body: V2, etag: '"v2"' };
  const part = await get('bytes=40-49');
  t.is(part.body, V2.slice(40, 50));
  t.deepEqual(stored()?.partial?.ranges, [40, 49], 'the v1 bytes are gone');
  t.is(stored()?.etag, '"v2"');
  // A range spanning held v2 bytes and bytes not held: the v1 part can never be combined with it.
  await get('bytes=0-9');
  t.deepEqual(sent()[2], { range: 'bytes=0-9', ifRange: '"v2"' });
  t.deepEqual(stored()?.partial?.ranges, [0, 9, 40, 49]);
  state.current = { body: V1, etag: '"v3"' };
  const whole = await get();
  t.is(whole.status, 200);
  t.is(whole.body, V1, 'the completing part was another representation: the whole is fetched');
  t.is(whole.headers.etag, '"v3"');
  t.deepEqual(sent().slice(3), [{ range: 'bytes=10-89', ifRange: '"v2"' }, { range: undefined, ifRange: undefined }], 'one range covers both gaps');
  t.is(stored()?.partial, undefined);
  t.regex(String((await get()).headers['cache-status']), HIT);
});

test('RFC 9111 §3.4 weak validators never combine (and are never sent in If-Range)', async (t) => {
  const { get, state, sent, stored } = await rig(t);
  state.current = { body: V1, etag: 'W/"w1"' };
  await get('bytes=0-9');
  t.regex(String((await get('bytes=2-5')).headers['cache-status']), HIT, 'a weak part still answers ranges it holds');
  await get('bytes=10-19');
  t.deepEqual(stored()?.partial?.ranges, [10, 19], 'the second part replaced the first');
  const first = await get('bytes=0-9');
  t.is(first.body, V1.slice(0, 10));
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=partial; stored');
  const whole = await get();
  t.is(whole.body, V1);
  t.deepEqual(sent(), [
    { range: 'bytes=0-9', ifRange: undefined },
    { range: 'bytes=10-19', ifRange: undefined },
    { range: 'bytes=0-9', ifRange: undefined },
    { range: undefined, ifRange: undefined },
  ]);
});

test('RFC 9110 §14.2 several ranges: answered with the whole representation, completing a partial entry', async (t) => {
  const { get, sent, stored } = await rig(t);
  await get('bytes=0-9');
  t.deepEqual(stored()?.partial?.ranges, [0, 9]);
  const multi = await get('bytes=0-1,5-6');
  t.is(multi.status, 200);
  t.is(multi.body, V1);
  t.deepEqual(sent()[1], { range: 'bytes=10-89', ifRange: '"v1"' });
  t.is(stored()?.partial, undefined);
  // On a URL with nothing stored, several ranges fill the whole representation, without Range.
  const { get: getOther, sent: sentOther } = await rig(t);
  const cold = await getOther('bytes=0-1,5-6');
  t.is(cold.status, 200);
  t.is(cold.body, V1);
  t.deepEqual(sentOther(), [{ range: undefined, ifRange: undefined }]);
});

test('RFC 9110 §14.1.1, §15.5.17 416 for a range past the complete length a partial entry knows', async (t) => {
  const { get, sent } = await rig(t, { MAX_OBJECT_BYTES: '50' });
  await get('bytes=0-9');
  for (const range of ['bytes=90-', 'bytes=95-99', 'bytes=-0']) {
    const answer = await get(range);
    t.is(answer.status, 416, range);
    t.is(answer.headers['content-range'], 'bytes */90', range);
    t.regex(String(answer.headers['cache-status']), HIT, range);
  }
  const suffix = await get('bytes=-5');
  t.is(suffix.status, 206);
  t.is(suffix.body, V1.slice(85));
  t.deepEqual(sent(), [{ range: 'bytes=0-9', ifRange: undefined }, { range: 'bytes=80-89', ifRange: '"v1"' }], 'the suffix is resolved against the known length');
});

test('RFC 9111 §3.3 a partial entry holds at most MAX_OBJECT_BYTES; a range past that is passed on unkept', async (t) => {
  const { get, sent, stored } = await rig(t, { MAX_OBJECT_BYTES: '30' });
  for (const range of ['bytes=0-9', 'bytes=10-19', 'bytes=20-29']) await get(range);
  t.deepEqual(stored()?.partial?.ranges, [0, 29]);
  for (let i = 0; i < 2; i++) {
    const beyond = await get('bytes=40-44');
    t.is(beyond.body, V1.slice(40, 45));
    t.is(beyond.headers['cache-status'], 'cdn-lab; fwd=partial');
  }
  t.deepEqual(sent().slice(3), [{ range: 'bytes=40-44', ifRange: undefined }, { range: 'bytes=40-44', ifRange: undefined }], "the client's own range");
  t.deepEqual(stored()?.partial?.ranges, [0, 29], 'what was held stays');
  t.regex(String((await get('bytes=0-29')).headers['cache-status']), HIT);
});

test('RFC 9111 §4.2 a 206 is fresh per its own headers; a stale partial entry is fetched again', async (t) => {
  const { get, state, sent, edge, stored } = await rig(t);
  state.current = { body: V1, etag: '"v1"', cacheControl: 'max-age=10' };
  await get('bytes=0-9');
  t.deepEqual(stored()?.partial?.ranges, [0, 9]);
  t.regex(String((await get('bytes=0-9')).headers['cache-status']), HIT);
  edge.advance(20_000);
  const stale = await get('bytes=0-9');
  t.is(stale.body, V1.slice(0, 10));
  t.is(stale.headers['cache-status'], 'cdn-lab; fwd=stale; stored');
  t.regex(String((await get('bytes=0-9')).headers['cache-status']), HIT);
  t.deepEqual(sent(), [{ range: 'bytes=0-9', ifRange: undefined }, { range: 'bytes=0-9', ifRange: undefined }], 'a stale entry is not combined with');
  t.deepEqual(stored()?.partial?.ranges, [0, 9]);
});

test('RFC 9111 §3.3 partial entries follow Vary, no-store and purge like complete ones', async (t) => {
  const { get, state, sent, edge } = await rig(t);
  state.current = { body: V1, etag: '"v1"', vary: 'Accept-Encoding' };
  await get('bytes=0-9', { 'accept-encoding': 'gzip' });
  t.regex(String((await get('bytes=0-9', { 'accept-encoding': 'gzip' })).headers['cache-status']), HIT);
  t.is((await get('bytes=0-9', { 'accept-encoding': 'br' })).headers['cache-status'], 'cdn-lab; fwd=vary-miss; stored');
  t.is(sent().length, 2);
  const store = edge.edge.store;
  t.deepEqual(store.keysOfUrl('/r').map((key) => store.policy.peek(key)?.partial?.ranges), [[0, 9], [0, 9]], 'one partial entry per variant');
  const purge = await request(`${edge.url}/_edge/purge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer test-admin-token' },
    body: JSON.stringify({ url: '/r' }),
  });
  t.deepEqual(JSON.parse(purge.body), { purged: 2, soft: false });
  t.is(edge.edge.store.count, 0);
  state.current = { body: V1, etag: '"v1"', cacheControl: 'no-store' };
  for (let i = 0; i < 2; i++) {
    const answer = await get('bytes=0-9');
    t.is(answer.status, 206);
    t.is(answer.body, V1.slice(0, 10));
    t.is(answer.headers['cache-status'], 'cdn-lab; fwd=bypass; detail=no-store');
  }
  t.is(edge.edge.store.count, 0);
  t.true(sent().every((r) => r.range === 'bytes=0-9'));
  t.is(sent().length, 4);
});

test('RFC 9111 §3.3 a representation over MAX_OBJECT_BYTES: slices are kept up to that much, other ranges passed on as they arrive', async (t) => {
  const KiB = 1024;
  const big = 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2 * 1024 * KiB / 36 + 1).slice(0, 2048 * KiB);
  const { get, state, sent, stored, edge } = await rig(t, { MAX_OBJECT_BYTES: String(512 * KiB), RANGE_SLICE_BYTES: String(256 * KiB) });
  state.current = { body: big, etag: '"big"' };
  const open = await get('bytes=100-');
  t.is(open.status, 206);
  t.is(open.headers['content-range'], `bytes 100-${2048 * KiB - 1}/${2048 * KiB}`);
  t.is(open.body, big.slice(100), 'an open range of unknown length is asked as it is and passed on whole');
  t.is(open.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=too-large');
  t.is(edge.edge.store.count, 0);
  t.is((await get('bytes=1000-1999')).headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  t.is((await get('bytes=2000000-2000099')).headers['cache-status'], 'cdn-lab; fwd=partial; stored');
  t.deepEqual(stored()?.partial, { completeLength: 2048 * KiB, ranges: [0, 256 * KiB - 1, 1792 * KiB, 2048 * KiB - 1] });
  const tail = await get('bytes=-100');
  t.is(tail.body, big.slice(-100));
  t.regex(String(tail.headers['cache-status']), HIT);
  const middle = await get('bytes=1000000-1000099');
  t.is(middle.body, big.slice(1_000_000, 1_000_100));
  t.is(middle.headers['cache-status'], 'cdn-lab; fwd=partial', 'a third slice would pass MAX_OBJECT_BYTES: not kept');
  t.deepEqual(sent().map((r) => r.range), ['bytes=100-', 'bytes=0-262143', `bytes=${1792 * KiB}-${2048 * KiB - 1}`, 'bytes=1000000-1000099']);
  t.is(stored()?.body.length, 512 * KiB);
});

test('RANGE_SLICE_BYTES: a Range miss asks for the covering slices; 0 fills the whole representation instead', async (t) => {
  for (const [slice, asked, ranges] of [['10', 'bytes=0-9', [0, 9]], ['0', undefined, undefined]] as const) {
    const { get, sent, stored } = await rig(t, { RANGE_SLICE_BYTES: slice });
    const answer = await get('bytes=5-9');
    t.is(answer.status, 206, slice);
    t.is(answer.body, V1.slice(5, 10), slice);
    t.deepEqual(sent(), [{ range: asked, ifRange: undefined }], slice);
    t.deepEqual(stored()?.partial?.ranges, ranges, slice);
    t.is(stored()?.body.length, slice === '0' ? 90 : 10, slice);
  }
});
