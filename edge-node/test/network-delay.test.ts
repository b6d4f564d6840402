// Simulated network delays: CLIENT_DELAY_MS before each answer to the client, UPSTREAM_DELAY_MS before
// each upstream request. Timing assertions are lower bounds only (a shared, noisy machine can only make
// things slower). The 1 ms of slack is libuv's timer granularity: a timer may fire up to 1 ms early
// against performance.now().
import type { IncomingMessage, ServerResponse } from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import test from 'ava';
import { createLogger } from '@cdn-lab/service-kit';
import { CacheStore } from '../src/cache-store.ts';
import { Coalescer } from '../src/coalescer.ts';
import { edgeConfigFromEnv, edgeEnv } from '../src/config.ts';
import { EdgeMetrics } from '../src/metrics.ts';
import { EdgeProxy, HOP_HEADER } from '../src/proxy.ts';
import { buildStoredResponse } from '../src/stored-response.ts';
import { Upstream } from '../src/upstream.ts';
import { metricValue, request, startEdge, startUpstream, testClock, type Handler } from './helpers.ts';

const TIMER_SLACK_MS = 1;

async function timed<T>(run: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await run();
  return { value, ms: performance.now() - start };
}

test('CLIENT_DELAY_MS and UPSTREAM_DELAY_MS default to 0, round-trip through edgeEnv, reject bad values', (t) => {
  const defaults = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' });
  t.is(defaults.clientDelayMs, 0);
  t.is(defaults.upstreamDelayMs, 0);
  const config = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', CLIENT_DELAY_MS: '40', UPSTREAM_DELAY_MS: '25', SERVE_STALE: 'false' });
  t.like(config, { clientDelayMs: 40, upstreamDelayMs: 25, serveStale: false });
  t.like(edgeEnv(config), { CLIENT_DELAY_MS: '40', UPSTREAM_DELAY_MS: '25', SERVE_STALE: 'false' });
  t.deepEqual(edgeConfigFromEnv(edgeEnv(config)), config);
  for (const bad of ['-1', '1.5', 'soon', '600001']) {
    t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', CLIENT_DELAY_MS: bad }), { message: /CLIENT_DELAY_MS: / }, bad);
    t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', UPSTREAM_DELAY_MS: bad }), { message: /UPSTREAM_DELAY_MS: / }, bad);
  }
});

/** An EdgeProxy with one fresh entry at `/k`, and a fake request/response pair for its fast path. */
function fastPathRig(clientDelayMs: number, requestHeaders: Record<string, string> = {}, fleetSecret?: string) {
  const store = new CacheStore({ policy: 'lru', capacityBytes: 1 << 20 });
  const metrics = new EdgeMetrics({ edgeId: 'e', policy: 'lru', cache: store, defaultMetrics: false });
  const now = Date.now;
  const proxy = new EdgeProxy({
    edgeId: 'e',
    store,
    metrics,
    logger: createLogger({ service: 'edge-node', level: 'silent' }),
    now,
    coalescer: new Coalescer(true),
    // Never contacted: the entry is fresh.
    upstream: new Upstream({ kind: 'origin', urls: ['http://127.0.0.1:9'], timeoutMs: 1000, metrics, now }),
    negativeTtlMs: 0,
    clientDelayMs,
    keepAliveTimeoutMs: 5000,
    maxObjectBytes: 1024 * 1024,
    maxRequestBodyBytes: 1024 * 1024,
    fleetSecret,
  });
  const t0 = now();
  store.put(
    buildStoredResponse({
      primaryKey: '/k',
      requestHeaders: {},
      requestDirectives: new Map(),
      method: 'GET',
      status: 200,
      headers: { 'cache-control': 'max-age=600', date: new Date(t0).toUTCString() },
      body: Buffer.from('hello'),
      requestTime: t0,
      responseTime: t0,
      via: 'e',
      negativeTtlMs: 0,
    }),
  );
  const written: { status?: number; body?: Buffer } = {};
  const headers = { host: 'edge', ...requestHeaders };
  const req = { method: 'GET', url: '/k', headers, rawHeaders: Object.entries(headers).flat(), socket: {} } as unknown as IncomingMessage;
  const res = {
    writeHead(status: number) {
      written.status = status;
      return this;
    },
    end(body?: Buffer) {
      written.body = body;
      return this;
    },
  } as unknown as ServerResponse;
  return { proxy, metrics, req, res, written };
}

test('fast path with CLIENT_DELAY_MS=0: the hit is written before tryFastPath returns, and no timer is set', (t) => {
  const { proxy, req, res, written } = fastPathRig(0);
  const realSetTimeout = globalThis.setTimeout;
  let timers = 0;
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => {
    timers++;
    return realSetTimeout(...args);
  }) as typeof setTimeout;
  let served: ReturnType<typeof proxy.tryFastPath>;
  try {
    served = proxy.tryFastPath(req, res);
  } finally {
    globalThis.setTimeout = realSetTimeout;
  }
  t.true(served);
  t.is(written.status, 200);
  t.is(written.body?.toString(), 'hello');
  t.is(timers, 0);
});

test('fast path with CLIENT_DELAY_MS>0: the hit is decided at once but written only after the delay', async (t) => {
  const { proxy, metrics, req, res, written } = fastPathRig(30);
  const start = performance.now();
  t.true(proxy.tryFastPath(req, res));
  t.is(written.status, undefined, 'nothing written synchronously');
  for (let i = 0; i < 500 && written.status === undefined; i++) await new Promise((resolve) => setTimeout(resolve, 5));
  t.true(performance.now() - start >= 30 - TIMER_SLACK_MS);
  t.is(written.status, 200);
  t.is(written.body?.toString(), 'hello');
  t.is(await metricValue({ metrics }, 'edge_requests_total', { result: 'hit' }), 1);
});

test('CLIENT_DELAY_MS is not added for a peer edge (x-cdn-lab-hop): its UPSTREAM_DELAY_MS is that round trip', (t) => {
  const secret = 'fleet-secret-for-tests';
  const { proxy, req, res, written } = fastPathRig(30, { [HOP_HEADER]: secret }, secret);
  t.true(proxy.tryFastPath(req, res));
  t.is(written.status, 200, 'written synchronously');
  t.is(written.body?.toString(), 'hello');
  // A hop header without the fleet's secret is a client's: it gets the delay like any other.
  for (const [value, fleetSecret] of [['edge-1', secret], [secret, undefined]] as const) {
    const forged = fastPathRig(30, { [HOP_HEADER]: value }, fleetSecret);
    t.true(forged.proxy.tryFastPath(forged.req, forged.res));
    t.is(forged.written.status, undefined, `hop header ${value} with FLEET_SECRET ${fleetSecret}: not written synchronously`);
  }
});

test('CLIENT_DELAY_MS=80: hits (fast path), misses and errors each take at least 80 ms, and the duration metric counts it', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CLIENT_DELAY_MS: '80' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const miss = await timed(() => request(`${edge.url}/d`));
  t.is(miss.value.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  t.true(miss.ms >= 80 - TIMER_SLACK_MS, `miss took ${miss.ms} ms`);
  const hit = await timed(() => request(`${edge.url}/d`));
  t.regex(hit.value.headers['cache-status'] as string, /^cdn-lab; hit; ttl=\d+$/);
  t.is(hit.value.body, 'body of /d');
  t.true(hit.ms >= 80 - TIMER_SLACK_MS, `hit took ${hit.ms} ms`);
  const head = await timed(() => request(`${edge.url}/d`, { method: 'HEAD' }));
  t.is(head.value.status, 200);
  t.is(head.value.body, '');
  t.true(head.ms >= 80 - TIMER_SLACK_MS, `HEAD hit took ${head.ms} ms`);
  const bad = await timed(() => request(`${edge.url}/d`, { method: 'TRACE' }));
  t.is(bad.value.status, 405);
  t.true(bad.ms >= 80 - TIMER_SLACK_MS, `client error took ${bad.ms} ms`);
  t.true((await metricValue(edge.edge, 'edge_request_duration_seconds_sum', { result: 'hit' })) >= 2 * (80 - TIMER_SLACK_MS) / 1000);
  t.true((await metricValue(edge.edge, 'edge_request_duration_seconds_sum', { result: 'miss' })) >= (80 - TIMER_SLACK_MS) / 1000);
  // Local endpoints are the control plane (scrapes, health checks): not delayed, not counted.
  t.is((await request(`${edge.url}/healthz`)).status, 200);
  t.is(await metricValue(edge.edge, 'edge_requests_total'), 4);
});

test('CLIENT_DELAY_MS: a streamed miss whose body is complete before the delay is over reaches the client whole', async (t) => {
  // The head comes first and the body in two parts, so the edge streams it (and keeps it for the
  // cache); both parts are in long before the 400 ms delay ends, the case a comparison hits when its
  // origin is near and its clients far.
  const body = Buffer.alloc(80_000, 'x');
  const upstream = await startUpstream((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length, 'cache-control': 'max-age=60' });
    res.flushHeaders();
    setTimeout(() => res.write(body.subarray(0, 1000)), 5);
    setTimeout(() => res.end(body.subarray(1000)), 10);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CLIENT_DELAY_MS: '400', UPSTREAM_TIMEOUT_MS: '5000' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const miss = await request(`${edge.url}/big`);
  t.is(miss.status, 200);
  t.is(miss.body.length, body.length, 'every byte of the body');
  t.regex(miss.headers['cache-status'] as string, /fwd=uri-miss; stored/);
  const hit = await request(`${edge.url}/big`);
  t.is(hit.body.length, body.length);
  t.is(upstream.count('/big'), 1);
});

test('CLIENT_DELAY_MS: a client that leaves during the delay does not disturb the edge', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, CLIENT_DELAY_MS: '150' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  await request(`${edge.url}/gone`);
  await new Promise<void>((resolve) => {
    const socket = net.connect(edge.port, '127.0.0.1', () => {
      socket.write('GET /gone HTTP/1.1\r\nHost: edge\r\n\r\n');
      setTimeout(() => {
        socket.destroy();
        resolve();
      }, 20);
    });
  });
  await new Promise((resolve) => setTimeout(resolve, 250));
  const after = await request(`${edge.url}/gone`);
  t.is(after.status, 200);
  t.is(after.body, 'body of /gone');
});

/** An upstream that answers after `ms` and records, per request, when it arrived and how long it took itself. */
function slowUpstream(ms: number, cacheControl = 'max-age=60'): { handler: Handler; arrivals: number[]; ownMs: number[] } {
  const arrivals: number[] = [];
  const ownMs: number[] = [];
  const handler: Handler = (_req, res) => {
    const arrived = performance.now();
    arrivals.push(arrived);
    setTimeout(() => {
      res.writeHead(200, { 'cache-control': cacheControl, etag: '"e1"' });
      res.end('slow body');
      ownMs.push(performance.now() - arrived);
    }, ms);
  };
  return { handler, arrivals, ownMs };
}

test('UPSTREAM_DELAY_MS=60: a miss takes at least 60 ms more than the origin itself, and the upstream metric counts it', async (t) => {
  const origin = slowUpstream(20);
  const upstream = await startUpstream(origin.handler);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_DELAY_MS: '60' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const sent = performance.now();
  const miss = await timed(() => request(`${edge.url}/u`));
  t.is(miss.value.status, 200);
  t.is(miss.value.body, 'slow body');
  const originMs = origin.ownMs[0] as number;
  t.true(miss.ms >= 60 - TIMER_SLACK_MS + originMs, `miss took ${miss.ms} ms, origin ${originMs} ms`);
  t.true((origin.arrivals[0] as number) - sent >= 60 - TIMER_SLACK_MS, 'the request left the edge only after the delay');
  t.true((await metricValue(edge.edge, 'edge_upstream_duration_seconds_sum', { upstream: 'origin' })) >= (60 - TIMER_SLACK_MS + originMs) / 1000);
  // A hit does not go upstream, so it pays nothing of this delay: only checked by the upstream count.
  await request(`${edge.url}/u`);
  t.is(upstream.requests.length, 1);
});

test('UPSTREAM_DELAY_MS applies to background revalidations (stale-while-revalidate) too', async (t) => {
  const clock = testClock();
  const origin = slowUpstream(0, 'max-age=1, stale-while-revalidate=30');
  const upstream = await startUpstream(origin.handler, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_DELAY_MS: '60' }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  await request(`${edge.url}/b`);
  edge.advance(5_000);
  const sent = performance.now();
  const stale = await request(`${edge.url}/b`);
  t.regex(stale.headers['cache-status'] as string, /detail=stale-while-revalidate/);
  for (let i = 0; i < 300 && origin.arrivals.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10));
  t.is(origin.arrivals.length, 2);
  t.true((origin.arrivals[1] as number) - sent >= 60 - TIMER_SLACK_MS, 'the background request left only after the delay');
});

test('UPSTREAM_DELAY_MS counts against UPSTREAM_TIMEOUT_MS: a delay past the deadline is a 504 and nothing is sent', async (t) => {
  const upstream = await startUpstream();
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_DELAY_MS: '400', UPSTREAM_TIMEOUT_MS: '100' });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const answer = await request(`${edge.url}/late`);
  t.is(answer.status, 504);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=uri-miss; detail=upstream-timeout');
  // Past the moment the delayed request would have left: it was cancelled with the deadline.
  await new Promise((resolve) => setTimeout(resolve, 400));
  t.is(upstream.requests.length, 0);
  t.is(await metricValue(edge.edge, 'edge_upstream_requests_total', { upstream: 'origin', code: 'error' }), 1);
});
