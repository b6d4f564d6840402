// Issue 17, findings 1 and 7 at the balancer: the services' own routes behind it are never
// forwarded in any spelling (an edge's purge included), Host is checked (RFC 9112 §3.2), listings
// name no internal address, and client connections are bounded in time and number. Raw sockets
// where a client library would normalise the request.
import net from 'node:net';
import type { ExecutionContext } from 'ava';
import test from 'ava';
import { closeServer, listen } from '@cdn-lab/service-kit';
import { configSchema, loadConfig, type LbConfigInput } from '../src/config.ts';
import { request, startBackends, startBalancer } from './helpers.ts';
import { rawExchange as raw, statusOf, waitForConnections } from '../../service-kit/test/raw-http.ts';

async function setup(t: ExecutionContext, count: number, overrides: Partial<LbConfigInput> = {}) {
  const backends = await startBackends(count);
  const running = await startBalancer(backends, overrides);
  t.teardown(async () => {
    await running.balancer.close();
    await Promise.all(backends.map((backend) => backend.close()));
  });
  return { backends, ...running, port: Number(new URL(running.url).port) };
}

const get = (target: string, host = 'cdn.test') => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`;

test('finding 1: admin, metrics and internal paths of the edges and origin are refused in every spelling, never forwarded', async (t) => {
  const { port, backends } = await setup(t, 2);
  const targets = [
    '/metrics/',
    '//metrics',
    '/%6Detrics',
    '/./metrics',
    '/METRICS',
    '/metrics;x=1',
    '/obj/../metrics',
    '/healthz/',
    '/HealthZ',
    '/_admin/faults',
    '/%5Fadmin/faults',
    '//_admin/faults',
    '/_edge/purge',
    '/_EDGE/purge',
    '/_lb/anything-else',
  ];
  for (const target of targets) {
    const answer = await raw(port, get(target));
    t.is(statusOf(answer), 404, target);
    t.regex(answer, /"error":"internal_path"/, target);
  }
  const body = '{"down":true}';
  for (const method of ['PUT', 'DELETE']) {
    const answer = await raw(port, `${method} /_admin/faults HTTP/1.1\r\nHost: cdn.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    t.is(statusOf(answer), 404, method);
  }
  // Absolute-form is refused outright (the balancer takes origin-form only).
  t.is(statusOf(await raw(port, get(`http://127.0.0.1:${port}/metrics/`, `127.0.0.1:${port}`))), 400);
  t.is(statusOf(await raw(port, `POST http://127.0.0.1:${port}/_edge/purge HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`)), 400);
  t.true(backends.every((backend) => backend.seen.length === 0), 'no backend saw any of them');
  // The balancer's own routes still answer, and ordinary paths are still proxied.
  t.is(statusOf(await raw(port, get('/metrics'))), 200);
  t.is(statusOf(await raw(port, get('/obj/1'))), 200);
  t.is(backends.reduce((n, backend) => n + backend.seen.length, 0), 1);
});

test('finding 7: a purge sent through the balancer is refused (it would reach one edge only)', async (t) => {
  const { url, backends } = await setup(t, 3);
  const purge = await request(url, '/_edge/purge', {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer some-admin-token' },
    body: JSON.stringify({ prefix: '/' }),
  });
  t.is(purge.status, 404);
  const answer = JSON.parse(purge.body) as { error: string; message: string };
  t.is(answer.error, 'internal_path');
  t.regex(answer.message, /purge each edge on its own address/);
  t.true(backends.every((backend) => backend.seen.length === 0));
});

test('finding 7: duplicate or malformed Host is a 400, own routes included, and nothing is forwarded', async (t) => {
  const { port, backends } = await setup(t, 1);
  const cases = [
    'GET /obj/1 HTTP/1.1\r\nHost: cdn.test\r\nHost: evil.test\r\nConnection: close\r\n\r\n',
    'GET /obj/1 HTTP/1.1\r\nHost: cdn.test\r\nhost: cdn.test\r\nConnection: close\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: a.test\r\nHOST: b.test\r\nConnection: close\r\n\r\n',
    get('/obj/1', 'evil.test/x'),
    get('/obj/1', 'user@evil.test'),
    get('/obj/1', 'a b'),
    get('/metrics', 'evil.test:80:80'),
  ];
  for (const text of cases) {
    const answer = await raw(port, text);
    t.is(statusOf(answer), 400, JSON.stringify(text));
    t.regex(answer, /"error":"bad_host"/, JSON.stringify(text));
  }
  t.is(backends[0]!.seen.length, 0);
  for (const host of ['cdn.test:8080', '127.0.0.1', '[::1]:80', '']) t.is(statusOf(await raw(port, get('/obj/1', host))), 200, host);
});

test('finding 7: the backend listing on the client listener names no internal address', async (t) => {
  const { url, backends } = await setup(t, 2);
  const listing = await request(url, '/_lb/backends');
  t.is(listing.status, 200);
  t.deepEqual(JSON.parse(listing.body), [
    { id: 'edge-0', healthy: true, inFlight: 0 },
    { id: 'edge-1', healthy: true, inFlight: 0 },
  ]);
  for (const backend of backends) t.false(listing.body.includes(String(backend.port)));
});

test('with METRICS_PORT, /metrics and /_lb/backends are served only on the metrics listener, nothing there is proxied', async (t) => {
  const { port, backends, balancer } = await setup(t, 2, { metricsPort: 0 });
  const metricsServer = balancer.metricsServer;
  if (!metricsServer) return t.fail('no metrics server with METRICS_PORT set');
  const metricsPort = (await listen(metricsServer, '127.0.0.1', 0)).port;
  t.teardown(() => closeServer(metricsServer, 0));
  for (const target of ['/metrics', '/_lb/backends', '/metrics?x=1']) {
    const answer = await raw(port, get(target));
    t.is(statusOf(answer), 404, `client port ${target}`);
    t.regex(answer, /"error":"internal_path"/, target);
  }
  t.is(statusOf(await raw(port, get('/healthz'))), 200, 'health stays on the client port');
  const scrape = await raw(metricsPort, get('/metrics'));
  t.is(statusOf(scrape), 200);
  t.regex(scrape, /^lb_backend_up\{backend="edge-0"/m);
  t.regex(await raw(metricsPort, get('/_lb/backends')), /"id":"edge-1","healthy":true/);
  t.is(statusOf(await raw(metricsPort, get('/obj/1'))), 404, 'the metrics listener proxies nothing');
  t.is(statusOf(await raw(metricsPort, `POST /metrics HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`)), 405);
  t.true(backends.every((backend) => backend.seen.length === 0));
});

test('METRICS_PORT must differ from PORT, and METRICS_HOST needs METRICS_PORT', (t) => {
  t.throws(() => loadConfig({ BACKENDS: 'e=http://127.0.0.1:1', PORT: '8080', METRICS_PORT: '8080' }), { message: /METRICS_PORT.*must differ from PORT/ });
  t.throws(() => loadConfig({ BACKENDS: 'e=http://127.0.0.1:1', METRICS_HOST: '0.0.0.0' }), { message: /METRICS_HOST.*needs METRICS_PORT/ });
  t.like(loadConfig({ BACKENDS: 'e=http://127.0.0.1:1', PORT: '8080', METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' }), { metricsPort: 9100, metricsHost: '0.0.0.0' });
});

test('finding 7: connection limits default to nginx/Varnish ranges and are configurable', (t) => {
  const defaults = loadConfig({ BACKENDS: 'edge-0=http://127.0.0.1:1' });
  t.true(defaults.headersTimeoutMs >= 5_000 && defaults.headersTimeoutMs <= 60_000, `headers ${defaults.headersTimeoutMs}`);
  t.true(defaults.keepAliveTimeoutMs >= 5_000 && defaults.keepAliveTimeoutMs <= 75_000, `keep-alive ${defaults.keepAliveTimeoutMs}`);
  t.true(defaults.maxConnections > 0 && defaults.maxConnections <= 65_536);
  t.throws(() => loadConfig({ BACKENDS: 'edge-0=http://127.0.0.1:1', HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }), { message: /HEADERS_TIMEOUT_MS: must be <= REQUEST_TIMEOUT_MS/ });
  t.throws(() => loadConfig({ BACKENDS: 'edge-0=http://127.0.0.1:1', KEEP_ALIVE_TIMEOUT_MS: 'forever' }), { message: /KEEP_ALIVE_TIMEOUT_MS: / });
  t.like(configSchema.parse({ backends: 'edge-0=http://127.0.0.1:1', maxConnections: '10' }), { maxConnections: 10 });
});

test('finding 7: slow headers get 408, idle keep-alive connections are closed, connections beyond MAX_CONNECTIONS are refused', async (t) => {
  const { port, url, balancer } = await setup(t, 1, { headersTimeoutMs: 300, keepAliveTimeoutMs: 300, maxConnections: 2 });
  const open = (): Promise<net.Socket> => new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
  });
  const closed = (socket: net.Socket) => new Promise<string>((resolve) => {
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (data += chunk));
    socket.on('close', () => resolve(data));
  });
  // Bounded: with Node's defaults both sockets stay open for about 90 s; these wait for 'close'.
  const deadline = (what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still open after 20 s`)), 20_000).unref());
  const slow = await open();
  slow.write('GET /obj/1 HTTP/1.1\r\nHost: cdn.test\r\n');
  const idle = await open();
  idle.write('GET /obj/1 HTTP/1.1\r\nHost: cdn.test\r\n\r\n');
  const [slowAnswer, idleAnswer] = await Promise.race([Promise.all([closed(slow), closed(idle)]), deadline('a slow or idle connection')]);
  t.is(statusOf(slowAnswer), 408);
  t.is(statusOf(idleAnswer), 200);
  // The server must have taken both before the third arrives (its accept can lag the client's
  // connect on a busy machine): wait until it counts exactly the connections expected.
  const serverConnections = (n: number) => waitForConnections(balancer.server, n);
  await serverConnections(0);
  const held = [await open(), await open()];
  await serverConnections(2);
  const third = await open();
  const thirdClosed = closed(third);
  third.write(get('/obj/1'));
  t.is(await Promise.race([thirdClosed, deadline('the third connection')]), '');
  for (const socket of held) socket.destroy();
  for (let i = 0; i < 200 && (await new Promise<number>((resolve) => balancer.server.getConnections((_e, n) => resolve(n)))) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is((await request(url, '/obj/2')).status, 200);
});
