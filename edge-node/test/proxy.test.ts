// The spine: miss then hit, Age, no-store/private, byte budget, coalescing, timeouts, metrics, bad requests.
import test from 'ava';
import { hitTtlWithin, metricValue, request, startEdge, startUpstream } from './helpers.ts';
import { rawExchange } from '../../service-kit/test/raw-http.ts';

test('a miss is fetched and stored, the repeat is a hit from the fast path', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });

  const first = await request(`${edge.url}/obj/1`);
  t.is(first.status, 200);
  t.is(first.body, 'body of /obj/1');
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  const second = await request(`${edge.url}/obj/1`);
  t.is(second.status, 200);
  t.is(second.body, 'body of /obj/1');
  t.regex(second.headers['cache-status'] as string, /^cdn-lab; hit; ttl=\d+$/);
  t.is(second.headers['content-length'], String('body of /obj/1'.length));
  t.regex(second.headers.via as string, /1\.1 edge-0/);
  t.is(upstream.count('/obj/1'), 1);
});

test('Age grows with time in cache and the entry turns stale at max-age', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });

  await request(`${edge.url}/obj/2`);
  edge.advance(30_000);
  const later = await request(`${edge.url}/obj/2`);
  const age = Number(later.headers.age);
  t.true(age >= 30 && age <= 35, `age ${age}`);
  t.true(hitTtlWithin(later.headers['cache-status'], 30), String(later.headers['cache-status']));
  edge.advance(31_000);
  const stale = await request(`${edge.url}/obj/2`);
  t.regex(stale.headers['cache-status'] as string, /fwd=stale/);
  t.is(upstream.count('/obj/2'), 2);
});

test('Age includes the upstream Age header (RFC 9111 §4.2.3)', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'cache-control': 'max-age=100', age: '40', date: new Date().toUTCString() });
    res.end('aged');
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  await request(`${edge.url}/a`);
  const hit = await request(`${edge.url}/a`);
  t.true(Number(hit.headers.age) >= 40);
  t.true(hitTtlWithin(hit.headers['cache-status'], 60), String(hit.headers['cache-status']));
});

for (const directive of ['no-store', 'private']) {
  test(`a ${directive} response is not stored`, async (t) => {
    const upstream = await startUpstream((_req, res) => {
      res.writeHead(200, { 'cache-control': `${directive}, max-age=60` });
      res.end('secret');
    });
    const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
    t.teardown(async () => { await edge.close(); await upstream.close(); });
    const first = await request(`${edge.url}/p`);
    const second = await request(`${edge.url}/p`);
    t.is(first.body, 'secret');
    t.is(second.headers['cache-status'], `cdn-lab; fwd=bypass; detail=${directive}`);
    t.is(upstream.count('/p'), 2);
    t.is(edge.edge.store.count, 0);
    t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'bypass' }), 2);
  });
}

test('the byte budget holds: cache bytes never exceed CACHE_BYTES, an oversized object is not stored', async (t) => {
  const upstream = await startUpstream((req, res) => {
    const size = req.url?.startsWith('/huge') ? 20_000 : 1000;
    res.writeHead(200, { 'cache-control': 'max-age=600' });
    res.end(Buffer.alloc(size, 'x'));
  });
  const budget = 10_000;
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CACHE_BYTES: String(budget) });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  for (let i = 0; i < 30; i++) {
    await request(`${edge.url}/small/${i}`);
    t.true(edge.edge.store.bytes <= budget, `bytes ${edge.edge.store.bytes} after ${i}`);
  }
  t.true(edge.edge.store.count > 0 && edge.edge.store.count < 30);
  t.true(await metricValue(edge.edge, 'edge_cache_evictions_total', { reason: 'evict' }) > 0);
  const huge = await request(`${edge.url}/huge`);
  t.is(huge.body.length, 20_000);
  t.is(huge.headers['cache-status'], 'cdn-lab; fwd=uri-miss');
  await request(`${edge.url}/huge`);
  t.is(upstream.count('/huge'), 2);
  t.true(edge.edge.store.bytes <= budget);
});

/** Polls until `condition` holds (bounded), so tests wait for states instead of sleeping for guesses. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  if (!condition()) throw new Error(`timed out waiting for ${what}`);
}

/** An upstream that holds every response until `release()`. */
async function heldUpstream() {
  const held: (() => void)[] = [];
  const upstream = await startUpstream((req, res) => {
    held.push(() => {
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end(`held ${req.url}`);
    });
  });
  return { upstream, release: () => held.splice(0).forEach((send) => send()) };
}

test('coalescing: 100 concurrent requests for one cold URL make exactly 1 upstream request', async (t) => {
  const { upstream, release } = await heldUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const pending = Promise.all(Array.from({ length: 100 }, () => request(`${edge.url}/cold`)));
  await until(() => edge.edge.coalescer.waiting === 99, '99 followers');
  release();
  const answers = await pending;
  t.true(answers.every((a) => a.status === 200 && a.body === 'held /cold'));
  t.is(upstream.count('/cold'), 1);
  const collapsed = answers.filter((a) => /collapsed/.test(a.headers['cache-status'] as string)).length;
  t.is(collapsed, 99);
  t.is(await metricValue(edge.edge, 'edge_coalesced_requests_total'), 99);
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { upstream: 'origin' }), 1);
  // The leader is the one miss; the followers are counted as collapsed (answered without a fetch).
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'miss' }), 1);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'collapsed' }), 99);
});

test('COALESCING=false: concurrent misses each go upstream', async (t) => {
  const { upstream, release } = await heldUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, COALESCING: 'false' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const pending = Promise.all(Array.from({ length: 20 }, () => request(`${edge.url}/cold`)));
  await until(() => upstream.count('/cold') === 20, '20 upstream requests');
  release();
  await pending;
  t.is(upstream.count('/cold'), 20);
  t.is(await metricValue(edge.edge, 'edge_coalesced_requests_total'), 0);
});

test('a slow upstream gets 504 within UPSTREAM_TIMEOUT_MS', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    const timer = setTimeout(() => res.end('late'), 5000);
    res.on('close', () => clearTimeout(timer));
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '200' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const answer = await request(`${edge.url}/slow`);
  t.is(answer.status, 504);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=upstream-timeout');
  t.is(JSON.parse(answer.body).error, 'upstream_timeout');
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'error', code: '5xx' }), 1);
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { upstream: 'origin', code: 'error' }), 1);
});

test('an unreachable upstream gets 502 with the forward reason', async (t) => {
  const upstream = await startUpstream();
  const deadUrl = upstream.url;
  await upstream.close();
  const edge = await startEdge({ UPSTREAM_URLS: deadUrl });
  t.teardown(() => edge.close());
  const answer = await request(`${edge.url}/x`);
  t.is(answer.status, 502);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=upstream-error');
});

test('metrics after a known sequence: 1 miss, 2 hits, 1 bypass, 1 client error', async (t) => {
  const upstream = await startUpstream((req, res) => {
    res.writeHead(200, { 'cache-control': req.url === '/n' ? 'no-store' : 'max-age=60' });
    res.end('12345');
  });
  // Every hit logged, so there is one line per answer.
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-7', ACCESS_LOG_HIT_SAMPLE: '1' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  await request(`${edge.url}/m`);
  await request(`${edge.url}/m`);
  await request(`${edge.url}/m`, { method: 'HEAD' });
  await request(`${edge.url}/n`);
  await rawExchange(edge.port, 'GET nope HTTP/1.1\r\nHost: x\r\n\r\n', { maxMs: 2000 });
  const e = edge.edge;
  t.is(await metricValue(e, 'edge_requests_total', { result: 'miss', code: '2xx' }), 1);
  t.is(await metricValue(e, 'edge_requests_total', { result: 'hit', code: '2xx' }), 2);
  t.is(await metricValue(e, 'edge_requests_total', { result: 'bypass', code: '2xx' }), 1);
  t.is(await metricValue(e, 'edge_requests_total', { result: 'error', code: '4xx' }), 1);
  t.is(await metricValue(e, 'edge_requests_total'), 5);
  // HEAD sends no body: 5 bytes for the miss, 5 for the GET hit, 5 for the bypass.
  t.is(await metricValue(e, 'edge_response_bytes_total', { result: 'hit' }), 5);
  t.is(await metricValue(e, 'edge_response_bytes_total', { result: 'miss' }), 5);
  t.is(await metricValue(e, 'edge_upstream_requests_total', { upstream: 'origin', code: '2xx' }), 2);
  t.is(await metricValue(e, 'edge_upstream_requests_total', { upstream: 'origin' }), upstream.requests.length);
  t.is(await metricValue(e, 'edge_upstream_bytes_total', { upstream: 'origin' }), 10);
  t.is(await metricValue(e, 'edge_cache_objects'), 1);
  t.is(await metricValue(e, 'edge_cache_bytes'), e.store.bytes);
  t.is(await metricValue(e, 'edge_cache_capacity_bytes'), 64 * 1024 * 1024);
  const text = await (await request(`${edge.url}/metrics`)).body;
  t.regex(text, /edge_requests_total\{result="revalidated",code="3xx",edge="edge-7",policy="lru"\} 0/);
  t.regex(text, /edge_request_duration_seconds_count\{[^}]*result="hit"[^}]*\} 2/);
  t.is(await metricValue(e, 'edge_request_duration_seconds_count', { result: 'hit' }), 2);
  t.is(await metricValue(e, 'edge_request_duration_seconds_count'), 5);
  t.true((await metricValue(e, 'edge_request_duration_seconds_sum', { result: 'miss' })) > 0);
  t.is(await metricValue(e, 'edge_upstream_duration_seconds_count', { upstream: 'origin' }), 2);
  // /metrics itself is not client traffic.
  t.is(await metricValue(e, 'edge_requests_total'), 5);
  const lines = edge.logs.filter((l) => l.result !== undefined && l.result !== 'local');
  t.is(lines.length, 5);
  const hitLine = lines.find((l) => l.result === 'hit');
  t.like(hitLine, { method: 'GET', path: '/m', status: 200, result: 'hit', bytes: 5 });
  t.is(typeof hitLine?.durationMs, 'number');
});

test('metricValue (test helper) refuses what it cannot read instead of answering 0', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  await request(`${edge.url}/x`);
  await t.throwsAsync(metricValue(edge.edge, 'edge_request_duration_seconds', { result: 'miss' }), { message: /is a histogram/ });
  await t.throwsAsync(metricValue(edge.edge, 'edge_no_such_metric'), { message: /no metric/ });
  await t.throwsAsync(metricValue(edge.edge, 'edge_requests_total_count'), { message: /no metric/ });
  await t.throwsAsync(metricValue(edge.edge, 'edge_requests_total', { reslt: 'miss' }), { message: /no label "reslt"/ });
  t.is(await metricValue(edge.edge, 'edge_request_duration_seconds_count', { result: 'miss' }), 1);
  t.is(await metricValue(edge.edge, 'edge_request_duration_seconds_bucket', { result: 'miss', le: '+Inf' }), 1);
});

test('/metrics with process metrics has no gauge named _total (promtool rule)', async (t) => {
  const { createEdge } = await import('../src/app.ts');
  const { edgeConfigFromEnv } = await import('../src/config.ts');
  const edge = createEdge(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:9', LOG_LEVEL: 'silent' }));
  t.teardown(() => edge.close());
  const text = await edge.metrics.registry.metrics();
  t.regex(text, /edge_process_cpu_seconds_total/);
  const gaugesWithTotal = [...text.matchAll(/^# TYPE (\S+_total) gauge$/gm)].map((m) => m[1]);
  t.deepEqual(gaugesWithTotal, []);
});

test('GET /healthz answers ok locally', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const answer = await request(`${edge.url}/healthz`);
  t.is(answer.status, 200);
  t.deepEqual(JSON.parse(answer.body), { status: 'ok' });
  t.is(answer.headers['cache-status'], 'cdn-lab; detail=local');
  t.is((await request(`${edge.url}/metrics?x=1`)).headers['cache-status'], 'cdn-lab; detail=local');
  t.is(upstream.requests.length, 0);
  t.is((await request(`${edge.url}/HEALTHZ`)).status, 404, 'other spellings are refused, never proxied');
  const post = await request(`${edge.url}/healthz`, { method: 'POST' });
  t.is(post.status, 405);
  t.is(post.headers['cache-status'], 'cdn-lab; detail=local');
  t.is((await request(`${edge.url}/_edge/nothing`)).status, 404);
  t.is(upstream.requests.length, 0, 'local paths never reach upstream');
});

/** Sends raw bytes and returns the raw response text. */

const malformed: [string, string, RegExp][] = [
  ['relative target', 'GET nope HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400/],
  ['absolute-form to another host', 'GET http://elsewhere.example/obj/1 HTTP/1.1\r\nHost: edge.local\r\n\r\n', /^HTTP\/1\.1 400[\s\S]*absolute_form_foreign_host/],
  ['asterisk-form', 'GET * HTTP/1.1\r\nHost: x\r\n\r\n', /^HTTP\/1\.1 400/],
  ['no Host in HTTP/1.1', 'GET /obj/1 HTTP/1.1\r\n\r\n', /^HTTP\/1\.1 400[\s\S]*missing_host/],
  ['garbage request line', 'HELLO\r\n\r\n', /^HTTP\/1\.1 400/],
  ['TE and CL together (smuggling)', 'POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n', /^HTTP\/1\.1 400/],
  ['duplicate Content-Length', 'POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd', /^HTTP\/1\.1 400/],
  ['oversized headers', `GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, /^HTTP\/1\.1 431/],
  ['CONNECT', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', /^HTTP\/1\.1 405/],
  ['TRACE', 'TRACE /x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', /^HTTP\/1\.1 405/],
];

test('malformed requests get 4xx with Cache-Status, never reach upstream, never crash the edge', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  await request(`${edge.url}/obj/1`);
  for (const [name, raw, expected] of malformed) {
    const answer = await rawExchange(edge.port, raw, { maxMs: 2000 });
    t.regex(answer, expected, name);
    t.regex(answer, /cache-status: cdn-lab/i, name);
  }
  t.is(upstream.requests.length, 1, 'only the warm-up request went upstream');
  const after = await request(`${edge.url}/obj/1`);
  t.is(after.status, 200);
});

test('ACCESS_LOG_HIT_SAMPLE: the first fresh hit and every Nth after it are logged with "sample", everything else always', async (t) => {
  const upstream = await startUpstream((req, res) => {
    res.writeHead(req.url === '/gone' ? 404 : 200, { 'cache-control': 'max-age=60' });
    res.end('12345');
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ACCESS_LOG_HIT_SAMPLE: '3' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  await request(`${edge.url}/a`); // miss
  for (let i = 0; i < 7; i++) await request(`${edge.url}/a`); // hits 1..7
  await request(`${edge.url}/b`, { headers: { 'cache-control': 'no-cache' } }); // miss
  await request(`${edge.url}/b`, { headers: { 'cache-control': 'no-cache' } }); // revalidated, not a fresh hit
  const lines = edge.logs.filter((l) => l.result !== undefined && l.result !== 'local');
  const hits = lines.filter((l) => l.result === 'hit');
  t.is(hits.length, 3, 'hits 1, 4 and 7');
  t.true(hits.every((l) => l.sample === 3));
  t.is(lines.filter((l) => l.result !== 'hit').length, 3, 'every other answer is logged');
  t.true(lines.filter((l) => l.result !== 'hit').every((l) => l.sample === undefined));
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'hit', code: '2xx' }), 7, 'metrics count every hit');
});

test('a fresh hit slower than 250 ms is logged whatever the sampling', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ACCESS_LOG_HIT_SAMPLE: '1000', CLIENT_DELAY_MS: '260' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  for (let i = 0; i < 3; i++) await request(`${edge.url}/slow`);
  const hits = edge.logs.filter((l) => l.result === 'hit');
  t.is(hits.length, 2, 'both hits took the 260 ms client delay');
  t.true(hits.every((l) => l.sample === undefined && (l.durationMs as number) >= 250));
});
