import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import { DRAINING_FIELD } from '@cdn-lab/service-kit';
import test from 'ava';
import type { LbConfigInput } from '../src/config.ts';
import {
  countBy,
  eventually,
  memoryLogger,
  request,
  servedBy,
  startBackend,
  startBackends,
  startBalancer,
  type BackendHandler,
  type TestBackend,
} from './helpers.ts';

async function setup(t: ExecutionContext, count: number, overrides: Partial<LbConfigInput> = {}, handler?: BackendHandler) {
  const backends = await startBackends(count, handler);
  const running = await startBalancer(backends, overrides);
  t.teardown(async () => {
    await running.balancer.close();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  return { backends, ...running };
}

const paths = (count: number) => Array.from({ length: count }, (_, i) => `/obj/${i}`);

async function metricValue(balancer: { metrics: { registry: { getSingleMetric(name: string): unknown } } }, name: string, labels: Record<string, string> = {}) {
  const metric = balancer.metrics.registry.getSingleMetric(name) as { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> };
  const { values } = await metric.get();
  const found = values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want));
  return found?.value;
}

test('round robin spreads requests evenly, in order', async (t) => {
  const { url } = await setup(t, 3, { algorithm: 'round-robin' });
  const served = await servedBy(url, paths(30));
  t.deepEqual(served.slice(0, 6), ['edge-0', 'edge-1', 'edge-2', 'edge-0', 'edge-1', 'edge-2']);
  t.deepEqual(countBy(served), { 'edge-0': 10, 'edge-1': 10, 'edge-2': 10 });
});

test('least connections and power of two spread sequential requests over all backends', async (t) => {
  for (const algorithm of ['least-connections', 'power-of-two'] as const) {
    const { url } = await setup(t, 3, { algorithm, seed: 5 });
    const counts = countBy(await servedBy(url, paths(90)));
    t.is(Object.keys(counts).length, 3, algorithm);
    for (const [id, count] of Object.entries(counts)) t.true(count >= 15 && count <= 45, `${algorithm}: ${id} got ${count} of 90`);
  }
});

test('consistent hash: the same path always reaches the same backend; bounded load agrees when idle', async (t) => {
  const hashed = await setup(t, 3, { algorithm: 'consistent-hash' });
  const bounded = await setup(t, 3, { algorithm: 'bounded-load' });
  const keys = paths(60).map((path, i) => `${path}?v=${i % 4}`);
  const first = await servedBy(hashed.url, keys);
  t.deepEqual(await servedBy(hashed.url, keys), first);
  t.is(Object.keys(countBy(first)).length, 3, 'every backend owns some keys');
  // Same ids, same ring: sequential (load-free) bounded-load placement is the consistent-hash one.
  t.deepEqual(await servedBy(bounded.url, keys), first);
});

test('bounded load spills a hot key over to other backends; consistent hash does not', async (t) => {
  const hold: (() => void)[] = [];
  const holding: BackendHandler = (req, res, backend) => {
    req.resume();
    hold.push(() => res.end(backend.id));
  };
  const concurrent = 12;
  const placements: Record<string, Record<string, number>> = {};
  for (const algorithm of ['consistent-hash', 'bounded-load'] as const) {
    const { url, backends } = await setup(t, 3, { algorithm, boundedLoadEpsilon: 0.25 }, holding);
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < concurrent; i++) {
      replies.push(request(url, '/obj/hot'));
      // One at a time, so each placement sees the load of the ones before.
      t.true(await eventually(() => backends.reduce((sum, b) => sum + b.seen.length, 0) === i + 1));
    }
    placements[algorithm] = Object.fromEntries(backends.map((backend) => [backend.id, backend.seen.length]));
    for (const release of hold.splice(0)) release();
    await Promise.all(replies);
  }
  t.is(Math.max(...Object.values(placements['consistent-hash'] ?? {})), concurrent);
  // capacity = ceil(1.25 * 12 / 3) = 5 once all 12 are in flight.
  t.true(Math.max(...Object.values(placements['bounded-load'] ?? {})) <= 5, JSON.stringify(placements));
});

test('a dead backend: retried without client errors, removed by the next check, back after it returns', async (t) => {
  const { url, backends, balancer } = await setup(t, 3, { algorithm: 'round-robin' });
  const dead = backends[1] as TestBackend;
  await dead.close();
  // Before any health check: the connection is refused, the GET is retried on another backend.
  const served = await servedBy(url, paths(12));
  t.false(served.includes('edge-1'));
  t.is(balancer.backends[1]?.healthy, false, 'passively marked down');
  t.is(await metricValue(balancer, 'lb_backend_errors_total', { backend: 'edge-1', reason: 'connect' }), 1);
  await balancer.health.checkNow();
  t.is(balancer.backends[1]?.healthy, false);
  t.deepEqual(countBy(await servedBy(url, paths(10))), { 'edge-0': 5, 'edge-2': 5 });
  t.is(await metricValue(balancer, 'lb_backend_up', { backend: 'edge-1' }), 0);
  await dead.restart();
  await balancer.health.checkNow();
  t.is(balancer.backends[1]?.healthy, true);
  t.true((await servedBy(url, paths(6))).includes('edge-1'));
  t.is(await metricValue(balancer, 'lb_backend_up', { backend: 'edge-1' }), 1);
});

test('active health checks on their timer take a silent backend out and bring it back', async (t) => {
  const backends = await startBackends(2);
  const { balancer } = await startBalancer(backends, { healthIntervalMs: 20, healthTimeoutMs: 200 }, { startHealthChecks: true });
  t.teardown(async () => {
    await balancer.close();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  await (backends[0] as TestBackend).close();
  t.true(await eventually(() => balancer.backends[0]?.healthy === false), 'taken out without any traffic');
  t.true(((await metricValue(balancer, 'lb_backend_errors_total', { backend: 'edge-0', reason: 'health_check' })) ?? 0) >= 1);
  await (backends[0] as TestBackend).restart();
  t.true(await eventually(() => balancer.backends[0]?.healthy === true));
});

test('a backend needs HEALTH_UNHEALTHY_THRESHOLD failed checks in a row to go down', async (t) => {
  let failing = false;
  const backend = await startBackend('flaky');
  const original = backend.url;
  const gate = http.createServer((req, res) => {
    if (failing) res.writeHead(503).end();
    else http.get(`${original}${req.url}`, (upstream) => upstream.pipe(res.writeHead(upstream.statusCode ?? 502)));
  });
  await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
  const gateBackend = { ...backend, id: 'flaky', url: `http://127.0.0.1:${(gate.address() as net.AddressInfo).port}` };
  const { balancer } = await startBalancer([gateBackend], { healthUnhealthyThreshold: 3 });
  t.teardown(async () => {
    await balancer.close();
    gate.closeAllConnections();
    gate.close();
    await backend.close();
  });
  failing = true;
  await balancer.health.checkNow();
  await balancer.health.checkNow();
  t.is(balancer.backends[0]?.healthy, true, 'two failures of three');
  await balancer.health.checkNow();
  t.is(balancer.backends[0]?.healthy, false);
  failing = false;
  await balancer.health.checkNow();
  t.is(balancer.backends[0]?.healthy, true, 'one success brings it back');
});

test('all backends down: panic routing still tries them; a dead fleet gets 502 with a JSON error body', async (t) => {
  const { url, backends, balancer } = await setup(t, 2);
  await Promise.all(backends.map((backend) => backend.close()));
  const first = await request(url, '/obj/1');
  t.is(first.status, 502);
  t.regex(String(first.headers['content-type']), /application\/json/);
  t.like(JSON.parse(first.body), { error: 'backend_unreachable' });
  await balancer.health.checkNow();
  t.true(balancer.backends.every((b) => !b.healthy));
  const later = await request(url, '/obj/2');
  t.is(later.status, 502);
  t.like(JSON.parse(later.body), { error: 'backend_unreachable' });
  t.true(((await metricValue(balancer, 'lb_panic_routed_requests_total')) ?? 0) >= 1);
});

test('health checks failing on a live fleet (slow or broken health path): panic routing keeps serving', async (t) => {
  const { url, balancer } = await setup(t, 2);
  for (const backend of balancer.backends) backend.healthy = false; // as after timed-out checks
  const reply = await request(url, '/obj/3');
  t.is(reply.status, 200);
  t.is(await metricValue(balancer, 'lb_panic_routed_requests_total'), 1);
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'none', code: '5xx' }), 0);
});

test('a POST to a dead backend is not retried: 502 naming the backend', async (t) => {
  const { url, backends } = await setup(t, 2);
  await (backends[0] as TestBackend).close();
  const reply = await request(url, '/upload', { method: 'POST', body: 'x' });
  t.is(reply.status, 502);
  t.deepEqual(JSON.parse(reply.body), { error: 'backend_unreachable', message: 'could not get a response from the backend', backend: 'edge-0' });
  t.is((backends[1] as TestBackend).seen.length, 0);
});

test('no answer within PROXY_TIMEOUT_MS: 504 with a JSON error, counted as a timeout', async (t) => {
  const silent: BackendHandler = (req) => req.resume();
  const { url, balancer } = await setup(t, 1, { proxyTimeoutMs: 150 }, silent);
  const reply = await request(url, '/slow');
  t.is(reply.status, 504);
  t.like(JSON.parse(reply.body), { error: 'backend_timeout', backend: 'edge-0' });
  t.is(await metricValue(balancer, 'lb_backend_errors_total', { backend: 'edge-0', reason: 'timeout' }), 1);
  t.is(balancer.backends[0]?.healthy, true, 'slow is not dead');
  t.is(balancer.backends[0]?.inFlight, 0);
});

test('hop-by-hop headers are stripped both ways; X-Forwarded-For and X-Served-By are added', async (t) => {
  const hopHeaders: BackendHandler = (req, res) => {
    req.resume();
    res.setHeader('connection', 'keep-alive, x-backend-hop');
    res.setHeader('x-backend-hop', 'secret');
    res.setHeader('keep-alive', 'timeout=5');
    res.setHeader('x-end-to-end', 'kept');
    res.end('ok');
  };
  const { url, backends } = await setup(t, 1, {}, hopHeaders);
  const reply = await request(url, '/h?q=1', {
    headers: {
      connection: 'keep-alive, x-client-hop',
      'x-client-hop': 'drop me',
      'keep-alive': 'timeout=30',
      te: 'trailers',
      'proxy-authorization': 'Basic eA==',
      'x-forwarded-for': '203.0.113.7',
      'x-end-to-end': 'kept',
    },
  });
  t.is(reply.status, 200);
  const seen = (backends[0] as TestBackend).seen[0];
  t.is(seen?.url, '/h?q=1');
  for (const name of ['x-client-hop', 'keep-alive', 'te', 'proxy-authorization']) t.is(seen?.headers[name], undefined, name);
  t.is(seen?.headers['x-end-to-end'], 'kept');
  t.is(seen?.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
  t.is(seen?.headers['x-forwarded-proto'], 'http');
  t.regex(String(seen?.headers.host), /^127\.0\.0\.1:\d+$/);
  t.is(reply.headers['x-backend-hop'], undefined);
  t.is(reply.headers['x-end-to-end'], 'kept');
  t.is(reply.headers['x-served-by'], 'edge-0');
});

test('request and response bodies are streamed, not buffered', async (t) => {
  let requestBodyStarted!: () => void;
  const firstRequestChunk = new Promise<void>((resolve) => (requestBodyStarted = resolve));
  let continueResponse!: () => void;
  const responseMayEnd = new Promise<void>((resolve) => (continueResponse = resolve));
  const streaming: BackendHandler = (req, res) => {
    const hash = createHash('sha256');
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      if (bytes === 0) requestBodyStarted();
      bytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write(`${bytes} ${hash.digest('hex')}\n`);
      // The rest only after the client has seen the first line through the balancer.
      void responseMayEnd.then(() => res.end('done'));
    });
  };
  const { url } = await setup(t, 1, {}, streaming);
  const body = Buffer.alloc(256 * 1024, 7);
  const reply = await new Promise<string>((resolve, reject) => {
    const req = http.request(`${url}/upload`, { method: 'POST', agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
        if (text.includes('\n')) continueResponse();
      });
      res.on('end', () => resolve(text));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.write(body.subarray(0, 1024));
    // Chunked upload: the backend must see the first chunk before the client sends the rest.
    const timer = setTimeout(() => reject(new Error('backend never saw the first chunk')), 5000);
    void firstRequestChunk.then(() => {
      clearTimeout(timer);
      req.end(body.subarray(1024));
    });
  });
  t.is(reply, `${body.length} ${createHash('sha256').update(body).digest('hex')}\ndone`);
});

test('metrics count requests by backend and status class', async (t) => {
  const byPath: BackendHandler = (req, res) => {
    req.resume();
    res.writeHead(req.url === '/missing' ? 404 : 200).end();
  };
  const { url, balancer } = await setup(t, 2, { algorithm: 'round-robin', lbId: 'lb-test' }, byPath);
  for (const path of ['/a', '/b', '/c', '/missing']) await request(url, path);
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'edge-0', code: '2xx' }), 2);
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'edge-1', code: '2xx' }), 1);
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'edge-1', code: '4xx' }), 1);
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'edge-0', code: '5xx' }), 0, 'pre-created at zero');
  t.is(await metricValue(balancer, 'lb_backend_in_flight', { backend: 'edge-0' }), 0);
  const scrape = await request(url, '/metrics');
  t.is(scrape.status, 200);
  t.regex(scrape.body, /lb_request_duration_seconds_count\{[^}]*backend="edge-0"[^}]*\} 2/);
  t.regex(scrape.body, /lb_backend_up\{backend="edge-1",lb="lb-test",algorithm="round-robin"\} 1/);
  t.regex(scrape.body, /lb_backend_errors_total\{backend="edge-1",reason="health_check",[^}]*\} 0/);
});

test('/healthz and /metrics are the balancer\'s own, never proxied; other methods get 405', async (t) => {
  const { url, backends } = await setup(t, 2, { lbId: 'lb-own' });
  const health = await request(url, '/healthz');
  t.is(health.status, 200);
  t.like(JSON.parse(health.body), { status: 'ok', lb: 'lb-own', backendsUp: 2, backends: 2 });
  t.is((await request(url, '/metrics')).status, 200);
  const listing = JSON.parse((await request(url, '/_lb/backends')).body) as { id: string; healthy: boolean }[];
  t.deepEqual(listing.map((b) => [b.id, b.healthy]), [['edge-0', true], ['edge-1', true]]);
  t.is((await request(url, '/healthz', { method: 'POST' })).status, 405);
  t.true(backends.every((backend) => backend.seen.length === 0));
  // Paths that merely start like an own route are proxied.
  t.is((await request(url, '/healthzz')).headers['x-served-by'], 'edge-0');
});

test('malformed requests get 400 and the balancer keeps serving', async (t) => {
  const { url } = await setup(t, 1);
  const raw = (text: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(new URL(url).port), '127.0.0.1');
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      socket.end(text);
    });
  const absolute = await raw('GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
  t.regex(absolute, /^HTTP\/1\.1 400/);
  t.regex(absolute, /"error":"bad_request"/);
  t.regex(await raw('NOT HTTP AT ALL\r\n\r\n'), /^HTTP\/1\.1 400/);
  t.is((await request(url, '/still-up')).status, 200);
});

test('one JSON log line per proxied request', async (t) => {
  const backends = await startBackends(1);
  const { logger, lines } = memoryLogger();
  const { balancer, url } = await startBalancer(backends, {}, { logger });
  t.teardown(async () => {
    await balancer.close();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  await servedBy(url, ['/one', '/two?x=1']);
  await request(url, '/healthz');
  logger.flush();
  t.true(await eventually(() => lines().filter((line) => line.msg === 'proxied').length === 2));
  const proxied = lines().filter((line) => line.msg === 'proxied');
  t.like(proxied[1], { method: 'GET', url: '/two?x=1', backend: 'edge-0', status: 200, retried: false });
  t.is(typeof proxied[0]?.ms, 'number');
});

const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
(hasPromtool ? test : test.skip)('the /metrics exposition passes `promtool check metrics`, process metrics included', async (t) => {
  const backends = await startBackends(2);
  const { balancer, url } = await startBalancer(backends, {}, { processMetrics: true });
  t.teardown(async () => {
    await balancer.close();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  await servedBy(url, paths(4));
  const scrape = await request(url, '/metrics');
  t.regex(scrape.body, /process_cpu_seconds_total/);
  const check = spawnSync('promtool', ['check', 'metrics'], { input: scrape.body, encoding: 'utf8' });
  t.is(check.status, 0, `${check.stdout}${check.stderr}`);
});

test('a backend dying mid-response cuts the client connection and counts an aborted response', async (t) => {
  const dying: BackendHandler = (req, res) => {
    req.resume();
    res.writeHead(200, { 'content-length': '1000' });
    res.write('partial');
    setTimeout(() => res.socket?.destroy(), 20);
  };
  const { url, balancer } = await setup(t, 1, {}, dying);
  const outcome = await new Promise<string>((resolve) => {
    const req = http.get(`${url}/big`, { agent: false }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => resolve('complete'));
      res.on('error', () => resolve('cut'));
      res.on('aborted', () => resolve('cut'));
    });
    req.on('error', () => resolve('cut'));
  });
  t.is(outcome, 'cut', 'a truncated body must not look complete');
  t.true(await eventually(() => balancer.backends[0]?.inFlight === 0));
  t.is(await metricValue(balancer, 'lb_backend_errors_total', { backend: 'edge-0', reason: 'aborted' }), 1);
});

test('a client leaving before the answer frees the backend slot and is counted as 4xx (499)', async (t) => {
  const holding: BackendHandler = (req) => req.resume();
  const { url, backends, balancer } = await setup(t, 1, {}, holding);
  const req = http.get(`${url}/wait`, { agent: false });
  req.on('error', () => undefined);
  t.true(await eventually(() => (backends[0] as TestBackend).seen.length === 1));
  t.is(balancer.backends[0]?.inFlight, 1);
  req.destroy();
  t.true(await eventually(() => balancer.backends[0]?.inFlight === 0));
  t.is(await metricValue(balancer, 'lb_requests_total', { backend: 'edge-0', code: '4xx' }), 1);
  t.is(balancer.backends[0]?.healthy, true, 'a client leaving says nothing about the backend');
});

test('a backend that answers with the draining marker is taken out at once; a draining /healthz (503 + marker) takes it out whatever the threshold', async (t) => {
  let draining = false;
  const marking: BackendHandler = (req, res, backend) => {
    req.resume();
    // As service-kit's drainServer answers: the marker, named in Connection (hop by hop).
    if (draining) res.setHeader('connection', `close, ${DRAINING_FIELD}`).setHeader(DRAINING_FIELD, '1');
    res.end(backend.id);
  };
  const { url, balancer } = await setup(t, 2, { algorithm: 'round-robin', healthUnhealthyThreshold: 3 }, marking);
  t.deepEqual(await servedBy(url, paths(2)), ['edge-0', 'edge-1']);
  draining = true;
  const reply = await request(url, '/obj/9');
  t.is(reply.status, 200, 'the request in progress is answered');
  t.is(reply.headers[DRAINING_FIELD], undefined, 'the marker is not passed on to clients');
  t.is(balancer.backends[0]?.healthy, false, 'edge-0 said it is draining');
  draining = false;
  t.deepEqual(countBy(await servedBy(url, paths(4))), { 'edge-1': 4 });

  // Active check: a 503 with the marker is a drain, not a flaky check: out at the first one.
  const drainingHealth = http.createServer((_req, res) => {
    res.writeHead(503, { connection: `close, ${DRAINING_FIELD}`, [DRAINING_FIELD]: '1' }).end('{"status":"draining"}');
  });
  await new Promise<void>((resolve) => drainingHealth.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => drainingHealth.close(() => resolve())));
  const { balancer: checked } = await startBalancer([{ id: 'edge-9', url: `http://127.0.0.1:${(drainingHealth.address() as net.AddressInfo).port}` } as TestBackend], {
    healthUnhealthyThreshold: 3,
  });
  t.teardown(() => checked.close());
  await checked.health.checkNow();
  t.is(checked.backends[0]?.healthy, false);
});

test('a reset on a reused keep-alive socket: retried on the next node of the ring, and the backend is probed and taken out when the probe fails', async (t) => {
  // Once armed, edge-0 drops the connection of its next request without answering (as a process
  // dying mid-request would) and stops listening, so the probe fails too.
  let armed = false;
  const { url, backends, balancer } = await setup(t, 2, { algorithm: 'consistent-hash' }, (req, res, backend) => {
    req.resume();
    if (backend.id === 'edge-0' && armed) {
      armed = false;
      void backend.close();
      req.socket.destroy();
      return;
    }
    res.end(backend.id);
  });
  const owners = await servedBy(url, paths(20));
  const path = paths(20)[owners.indexOf('edge-0')] as string;
  t.truthy(path, 'edge-0 owns one of 20 keys');
  armed = true;
  t.deepEqual(await servedBy(url, [path]), ['edge-1'], 'retried on the next node of the ring');
  t.false(armed, 'edge-0 got the request first');
  t.true(await eventually(() => balancer.backends[0]?.healthy === false), 'the probe failed: taken out');
  t.is(await metricValue(balancer, 'lb_backend_errors_total', { backend: 'edge-0', reason: 'reset' }), 1);
  t.true((backends[1] as TestBackend).seen.some((seen) => seen.url === path));
});
