// Issue 3's reliability and security guarantees, each against a real upstream on loopback.
import test from 'ava';
import http from 'node:http';
import { metricValue, request, startEdge, startUpstream } from './helpers.ts';

test('unkeyed headers cannot poison the cache: the edge never forwards them upstream', async (t) => {
  // An origin that reflects request headers into its (cacheable) body, as a careless app might.
  const reflected = ['x-forwarded-host', 'x-forwarded-scheme', 'x-forwarded-proto', 'x-original-url', 'x-rewrite-url', 'x-host', 'forwarded', 'x-http-method-override'];
  const upstream = await startUpstream((req, res) => {
    const body = reflected.map((name) => `${name}=${req.headers[name] ?? ''}`).join('\n');
    res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const attacker = await request(`${edge.url}/page`, { headers: Object.fromEntries(reflected.map((name) => [name, 'evil.example'])) });
  t.is(attacker.status, 200);
  t.notRegex(attacker.body, /evil/);
  for (const name of reflected) t.is(upstream.requests[0]!.headers[name], undefined, `${name} reached the upstream`);
  const victim = await request(`${edge.url}/page`);
  t.regex(victim.headers['cache-status'] as string, /hit/);
  t.notRegex(victim.body, /evil/);
});

test('1,000 concurrent requests for one cold URL produce exactly one origin request', async (t) => {
  const upstream = await startUpstream((_req, res) => {
    // Slow enough that every request arrives while the one fetch is under way.
    setTimeout(() => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-length': 5 });
      res.end('hello');
    }, 300);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1000 });
  t.teardown(async () => { agent.destroy(); await edge.close(); await upstream.close(); });
  const get = () =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get(`${edge.url}/cold`, { agent }, (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        })
        .on('error', reject);
    });
  const answers = await Promise.all(Array.from({ length: 1000 }, get));
  t.true(answers.every((a) => a.status === 200 && a.body === 'hello'));
  t.is(upstream.count('/cold'), 1);
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { upstream: 'origin' }), 1);
});

test('with the origin down, fresh and stale-if-error content keep being served with zero client errors', async (t) => {
  const upstream = await startUpstream((req, res) => {
    const cacheControl = req.url!.startsWith('/fresh') ? 'max-age=600' : 'max-age=1, stale-if-error=600';
    res.writeHead(200, { 'cache-control': cacheControl, 'content-length': 2 });
    res.end('ok');
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '2000' });
  t.teardown(async () => { await edge.close(); });
  const paths = [...Array.from({ length: 10 }, (_, i) => `/fresh/${i}`), ...Array.from({ length: 10 }, (_, i) => `/stale/${i}`)];
  for (const path of paths) t.is((await request(`${edge.url}${path}`)).status, 200);
  await upstream.close();
  edge.advance(5000); // the /stale objects are now past their max-age, within stale-if-error
  const answers = await Promise.all(Array.from({ length: 400 }, (_, i) => request(`${edge.url}${paths[i % paths.length]}`)));
  t.deepEqual(answers.filter((a) => a.status !== 200 || a.body !== 'ok').map((a) => a.status), []);
  t.true(answers.filter((_, i) => paths[i % paths.length]!.startsWith('/stale')).every((a) => /stale|fwd=/.test(a.headers['cache-status'] as string)));
});

test('a slow upstream never holds a client past UPSTREAM_TIMEOUT_MS: 504 with Cache-Status saying why', async (t) => {
  const upstream = await startUpstream(() => {
    // never answers
  });
  // Upstream health off: on a slow machine the 20 may not all collapse onto one fetch, and after three
  // timeouts the origin would be marked down (502 upstream-down, tested in upstream-health.test.ts).
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_FAILS: '0' });
  t.teardown(async () => { upstream.server.closeAllConnections(); await edge.close(); await upstream.close(); });
  const answers = await Promise.all(Array.from({ length: 20 }, () => request(`${edge.url}/slow`)));
  t.true(answers.every((a) => a.status === 504));
  t.true(answers.every((a) => /detail=upstream-timeout/.test(a.headers['cache-status'] as string)));
});
