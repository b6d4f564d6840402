// Upstream health (UPSTREAM_MAX_FAILS / UPSTREAM_FAIL_TIMEOUT_MS): an origin that hangs is marked
// down after consecutive timeouts; while down, stale-if-error content is served and uncached
// requests fail with 502 without the origin being asked (so without waiting UPSTREAM_TIMEOUT_MS);
// after the fail timeout one probe goes through (half-open) and brings it back. The edge's clock is
// the test's, so "after the fail timeout" is a clock move, not a sleep.
import type http from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { edgeConfigFromEnv } from '../src/config.ts';
import { metricValue, request, startEdge, startUpstream, testClock } from './helpers.ts';

/** An origin that answers (cacheable for 1 s, stale-if-error for an hour) or, when hanging, never answers. */
async function rig(t: ExecutionContext, env: Record<string, string> = {}) {
  const clock = testClock();
  const state = { hang: false };
  const hung: http.ServerResponse[] = [];
  const upstream = await startUpstream((req, res) => {
    if (state.hang) {
      hung.push(res);
      return;
    }
    const body = `body of ${req.url}`;
    res.writeHead(200, { 'cache-control': 'max-age=1, stale-if-error=3600', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  }, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, UPSTREAM_TIMEOUT_MS: '300', UPSTREAM_MAX_FAILS: '2', UPSTREAM_FAIL_TIMEOUT_MS: '30000', ...env }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const get = (path: string) => request(`${edge.url}${path}`);
  const up = () => metricValue(edge.edge, 'edge_upstream_up', { upstream: 'origin', target: upstream.url });
  const logged = (msg: string) => edge.logs.filter((line) => line.msg === msg);
  return { state, upstream, edge, get, up, logged, hung };
}

test('UPSTREAM_MAX_FAILS and UPSTREAM_FAIL_TIMEOUT_MS: defaults 3 and 10 s, validated and named', (t) => {
  const config = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' });
  t.is(config.upstreamMaxFails, 3);
  t.is(config.upstreamFailTimeoutMs, 10_000);
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', UPSTREAM_MAX_FAILS: '-1' }), { message: /UPSTREAM_MAX_FAILS: / });
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', UPSTREAM_FAIL_TIMEOUT_MS: '0' }), { message: /UPSTREAM_FAIL_TIMEOUT_MS: / });
});

test('a hung origin is marked down after UPSTREAM_MAX_FAILS timeouts; then stale-if-error is served and misses fail without asking it', async (t) => {
  const { state, upstream, edge, get, up, logged } = await rig(t);
  t.is((await get('/obj/1')).status, 200);
  t.is(await up(), 1);
  state.hang = true;
  edge.advance(5_000); // /obj/1 is stale now, within stale-if-error

  // Two timeouts in a row (one stale refresh, one miss): the origin is marked down.
  const first = await get('/obj/1');
  t.is(first.status, 200);
  t.regex(first.headers['cache-status'] as string, /detail=stale-if-error/);
  const miss = await get('/obj/2');
  t.is(miss.status, 504);
  t.is(await up(), 0);
  t.is(logged('upstream down').length, 1);
  t.like(logged('upstream down')[0], { upstream: 'origin', target: upstream.url, failures: 2, downForMs: 30_000 });

  // While down: nothing more reaches the origin, stale is served, a miss is a clear 502.
  const asked = upstream.requests.length;
  const stale = await get('/obj/1');
  t.is(stale.status, 200);
  t.is(stale.body, 'body of /obj/1');
  t.regex(stale.headers['cache-status'] as string, /detail=stale-if-error/);
  const down = await get('/obj/3');
  t.is(down.status, 502);
  t.is(JSON.parse(down.body).error, 'upstream_down');
  t.regex(down.headers['cache-status'] as string, /detail=upstream-down/);
  t.is(upstream.requests.length, asked, 'the down origin was not asked');
});

test('after UPSTREAM_FAIL_TIMEOUT_MS one probe goes through: others still fail fast meanwhile; a failed probe keeps it down, an answered one brings it back', async (t) => {
  const { state, upstream, edge, get, up, logged, hung } = await rig(t);
  state.hang = true;
  await get('/a');
  await get('/b');
  t.is(await up(), 0);
  const asked = upstream.requests.length;

  // Half-open: the probe hangs at the origin; a request meanwhile fails fast, without asking it.
  edge.advance(30_000);
  const probe = get('/probe-1');
  while (hung.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
  const during = await get('/during');
  t.is(during.status, 502);
  t.is(JSON.parse(during.body).error, 'upstream_down');
  t.is((await probe).status, 504);
  t.is(upstream.requests.length, asked + 1, 'only the probe reached the origin');
  t.is(logged('upstream still down: probe failed').length, 1);
  t.is(await up(), 0);
  t.is((await get('/c')).status, 502, 'down for another fail timeout');

  // The origin recovers; the next probe's answer brings it back.
  state.hang = false;
  edge.advance(30_000);
  t.is((await get('/probe-2')).status, 200);
  t.is(await up(), 1);
  t.is(logged('upstream up: probe answered').length, 1);
  t.is((await get('/d')).status, 200);
});

test('UPSTREAM_MAX_FAILS=0: never marked down, every request waits for the origin', async (t) => {
  const { state, upstream, get, up } = await rig(t, { UPSTREAM_MAX_FAILS: '0' });
  state.hang = true;
  for (const path of ['/a', '/b', '/c']) t.is((await get(path)).status, 504);
  t.is(upstream.requests.length, 3);
  t.is(await up(), 1);
});
