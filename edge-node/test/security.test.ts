// Issue 17, findings 1 and 7 at the edge: internal paths of the services behind are never forwarded
// (any spelling, absolute-form too), hop headers are trusted only with the fleet secret, Host is
// checked (RFC 9112 §3.2), aborted uploads count once, error bodies name no address, and client
// connections are bounded in time and number. Raw sockets where a client library would normalise.
import test from 'ava';
import net from 'node:net';
import { edgeConfigFromEnv } from '../src/config.ts';
import { HashRing } from '@cdn-lab/service-kit';
import { HOP_HEADER } from '../src/proxy.ts';
import { metricValue, request, startEdge, startUpstream, type TestEdge } from './helpers.ts';
import { rawExchange as raw, statusOf, waitForConnections } from '../../service-kit/test/raw-http.ts';

const get = (target: string, host = 'edge.test', extra = '') => `GET ${target} HTTP/1.1\r\nHost: ${host}\r\n${extra}Connection: close\r\n\r\n`;

const INTERNAL_SPELLINGS = [
  '/metrics/',
  '//metrics',
  '/%6Detrics',
  '/%6detrics',
  '/./metrics',
  '/METRICS',
  '/Metrics?x=1',
  '/metrics;jsessionid=1',
  '/metrics/.',
  '/obj/../metrics',
  '/obj/..%2F..%2Fmetrics',
  '/%256Detrics',
  '/healthz/',
  '/HEALTHZ',
  '/_admin/faults',
  '//_admin/faults',
  '/%5Fadmin/faults',
  '/_ADMIN/faults',
  '/_admin/faults;x',
  '/_edge/purge/',
  '/_lb/backends',
];

test('finding 1: no spelling of an internal path reaches the upstream; each is a 404 the edge answers itself', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  for (const target of INTERNAL_SPELLINGS) {
    const answer = await raw(edge.port, get(target));
    t.is(statusOf(answer), 404, target);
    t.regex(answer, /"error":"(internal_path|not_found)"/, target); // not_found: the edge's own /_edge/ routes
  }
  // The origin's fault injection, as the attacker sent it, with every method.
  for (const method of ['PUT', 'DELETE', 'POST', 'GET']) {
    const body = '{"down":true}';
    const answer = await raw(edge.port, `${method} /_admin/faults HTTP/1.1\r\nHost: edge.test\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    t.is(statusOf(answer), 404, method);
  }
  t.deepEqual(upstream.requests.map((r) => r.url), [], 'the upstream saw none of them');
  // Ordinary paths still go through, including ones that merely contain the words.
  for (const target of ['/obj/metrics', '/metricsx', '/obj/_admin']) t.is((await request(`${edge.url}${target}`)).status, 200, target);
  t.is(upstream.requests.length, 3);
});

test('finding 1: absolute-form targets are routed by their path: the edge\'s own routes, never the origin', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ADMIN_TOKEN: 'edge-admin-token' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const host = `127.0.0.1:${edge.port}`;
  const metrics = await raw(edge.port, get(`http://${host}/metrics`, host));
  t.is(statusOf(metrics), 200);
  t.regex(metrics, /cache-status: cdn-lab; detail=local/i);
  t.regex(metrics, /edge_requests_total/, 'the edge\'s own metrics');
  const purge = await raw(edge.port, `POST http://${host}/_edge/purge HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`);
  t.is(statusOf(purge), 401, 'the purge route, which wants its token');
  const slash = await raw(edge.port, get(`http://${host}/metrics/`, host));
  t.is(statusOf(slash), 404);
  const admin = await raw(edge.port, get(`http://${host}/_admin/faults`, host));
  t.is(statusOf(admin), 404);
  t.is(upstream.requests.length, 0);
});

test('finding 7: a client-made hop header does not make a non-owner keep its own copy; FLEET_SECRET does', async (t) => {
  const origin = await startUpstream();
  const secret = 'fleet-secret-for-tests';
  const ports = await Promise.all([0, 1].map(() => new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  })));
  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const edges: TestEdge[] = [];
  for (const [i, port] of ports.entries()) {
    edges.push(await startEdge({ UPSTREAM_URLS: origin.url, EDGE_ID: `edge-${i}`, PEER_URLS: urls.map((url, j) => `edge-${j}=${url}`).join(','), SELF_URL: urls[i] as string, PORT: String(port), FLEET_SECRET: secret }));
  }
  t.teardown(async () => { for (const edge of edges) await edge.close(); await origin.close(); });
  // A path edge-0 does not own: asked at edge-0, it must go to edge-1, which alone stores it.
  const ring = new HashRing(['edge-0', 'edge-1']);
  const path = Array.from({ length: 100 }, (_, i) => `/obj/${i}`).find((p) => ring.lookup(p) === 'edge-1') as string;
  const forged = await request(`${edges[0]!.url}${path}`, { headers: { [HOP_HEADER]: 'edge-1' } });
  t.is(forged.status, 200);
  t.is(edges[0]!.edge.store.lookup(path, {}), undefined, 'the non-owner kept no copy');
  t.not(edges[1]!.edge.store.lookup(path, {}), undefined, 'the owner has it');
  t.true(origin.requests.every((r) => r.headers[HOP_HEADER] === undefined), 'the hop header never reaches the origin');
  // Forwarded between peers, the secret is what the owner sees, and it does not forward again.
  const peerRequests = await metricValue(edges[1]!.edge, 'edge_upstream_requests_total', { upstream: 'peer' });
  t.is(peerRequests, 0);
});

test('finding 7: duplicate or malformed Host is a 400 at every route, hits included, without contacting upstream', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  t.is((await request(`${edge.url}/page`)).status, 200);
  t.is(upstream.requests.length, 1);
  const cases = [
    `GET /page HTTP/1.1\r\nHost: edge.test\r\nHost: evil.test\r\nConnection: close\r\n\r\n`,
    `GET /page HTTP/1.1\r\nHost: edge.test\r\nhost: edge.test\r\nConnection: close\r\n\r\n`,
    `GET /other HTTP/1.1\r\nHost: a.test\r\nHOST: b.test\r\nConnection: close\r\n\r\n`,
    `GET /healthz HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n`,
    get('/page', 'evil.test/path'),
    get('/page', 'user@evil.test'),
    get('/page', 'a b'),
    get('/other', 'evil.test:80:80'),
    get('/healthz', 'evil.test?x'),
    `GET /page HTTP/1.0\r\nHost: a.test\r\nHost: b.test\r\n\r\n`,
  ];
  for (const text of cases) {
    const answer = await raw(edge.port, text);
    t.is(statusOf(answer), 400, JSON.stringify(text));
    t.regex(answer, /"error":"bad_host"/, JSON.stringify(text));
  }
  t.is(upstream.requests.length, 1, 'nothing more went upstream');
  // Valid spellings still work: a port, an IP literal, IPv6, an empty Host (RFC 9112 §3.2).
  for (const host of ['edge.test:8080', '127.0.0.1', '[::1]:80', 'EDGE.Test', '']) t.is(statusOf(await raw(edge.port, get('/page', host))), 200, host);
});

test('finding 7: a client aborting an upload counts once, as a 4xx; no 5xx and no "unhandled error"', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const requested = new Promise((resolve) => edge.edge.server.once('request', resolve));
  const socket = net.connect(edge.port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.write(`POST /upload HTTP/1.1\r\nHost: edge.test\r\nContent-Length: 100000\r\n\r\n${'a'.repeat(1000)}`);
  // The edge has the request and is reading its body: leave halfway.
  await requested;
  socket.destroy();
  for (let i = 0; i < 500 && (await metricValue(edge.edge, 'edge_requests_total')) === 0; i++) await new Promise((r) => setTimeout(r, 10));
  // One more exchange, so anything the abort set off has run before the counts are read.
  t.is((await request(`${edge.url}/healthz`)).status, 200);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { code: '4xx' }), 1);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { code: '5xx' }), 0);
  t.is(await metricValue(edge.edge, 'edge_requests_total'), 1);
  t.deepEqual(edge.logs.filter((line) => (line.level as number) >= 50), [], 'nothing logged as an error');
  t.is(upstream.requests.length, 0);
});

test('finding 7: error bodies do not name the upstream\'s address', async (t) => {
  const upstream = await startUpstream();
  const port = new URL(upstream.url).port;
  await upstream.close();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(() => edge.close());
  const answer = await request(`${edge.url}/gone`);
  t.is(answer.status, 502);
  t.notRegex(answer.body, /127\.0\.0\.1/);
  t.false(answer.body.includes(port), answer.body);
  t.regex(answer.body, /"error":"upstream_failed"/);
  // Operators still get the detail, in the log.
  t.true(edge.logs.some((line) => String(line.err).includes(port)));
});

test('finding 7: connection limits default to nginx/Varnish ranges and are configurable', (t) => {
  const defaults = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' });
  t.true(defaults.headersTimeoutMs >= 5_000 && defaults.headersTimeoutMs <= 60_000, `headers ${defaults.headersTimeoutMs}`);
  t.true(defaults.keepAliveTimeoutMs >= 5_000 && defaults.keepAliveTimeoutMs <= 75_000, `keep-alive ${defaults.keepAliveTimeoutMs}`);
  t.true(defaults.requestTimeoutMs >= defaults.headersTimeoutMs && defaults.requestTimeoutMs <= 300_000);
  t.true(defaults.maxConnections > 0 && defaults.maxConnections <= 65_536);
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', HEADERS_TIMEOUT_MS: '20000', REQUEST_TIMEOUT_MS: '10000' }), { message: /HEADERS_TIMEOUT_MS: must be <= REQUEST_TIMEOUT_MS/ });
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', MAX_CONNECTIONS: '0' }), { message: /MAX_CONNECTIONS: / });
});

test('finding 7: slow headers get 408, idle keep-alive connections are closed, connections beyond MAX_CONNECTIONS are refused', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, HEADERS_TIMEOUT_MS: '300', KEEP_ALIVE_TIMEOUT_MS: '300', MAX_CONNECTIONS: '2' });
  t.teardown(async () => { await edge.close(); await upstream.close(); });
  const open = (): Promise<net.Socket> => new Promise((resolve) => {
    const socket = net.connect(edge.port, '127.0.0.1', () => resolve(socket));
  });
  const closed = (socket: net.Socket, data: string[] = []) => new Promise<string>((resolve) => {
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => data.push(chunk));
    socket.on('close', () => resolve(data.join('')));
  });
  // Bounded: an edge with Node's defaults keeps both sockets for about 90 s; these wait for 'close'.
  const deadline = (what: string) => new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} still open after 20 s`)), 20_000).unref());
  const slow = await open();
  slow.write('GET /page HTTP/1.1\r\nHost: edge.test\r\n'); // the header section never ends
  const idle = await open();
  idle.write(get('/page').replace('Connection: close\r\n', ''));
  const [slowAnswer, idleAnswer] = await Promise.race([Promise.all([closed(slow), closed(idle)]), deadline('a slow or idle connection')]);
  t.is(statusOf(slowAnswer), 408);
  t.is(statusOf(idleAnswer), 200);
  // Two connections held open: a third is closed at once, unanswered; once one goes, it works again.
  // The server must have taken both before the third arrives (its accept can lag the client's
  // connect on a busy machine): wait until it counts exactly the connections expected.
  const serverConnections = (n: number) => waitForConnections(edge.edge.server, n);
  await serverConnections(0);
  const held = [await open(), await open()];
  await serverConnections(2);
  const third = await open();
  const thirdData: string[] = [];
  const thirdClosed = closed(third, thirdData);
  third.write(get('/page'));
  t.is(await Promise.race([thirdClosed, deadline('the third connection')]), '');
  for (const socket of held) socket.destroy();
  for (let i = 0; i < 200 && (await new Promise<number>((resolve) => edge.edge.server.getConnections((_e, n) => resolve(n)))) > 0; i++) await new Promise((r) => setTimeout(r, 10));
  t.is((await request(`${edge.url}/page`)).status, 200);
});
