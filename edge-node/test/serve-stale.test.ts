// SERVE_STALE: on (default), RFC 5861 stale-while-revalidate / stale-if-error and client max-stale
// are honoured; off, a stale entry is always revalidated synchronously and an upstream failure is an
// error, as if every response carried must-revalidate. One response shape for all of them.
import type http from 'node:http';
import test, { type ExecutionContext } from 'ava';
import { edgeConfigFromEnv } from '../src/config.ts';
import { metricValue, request, startEdge, startUpstream, testClock, type TestEdge } from './helpers.ts';

const CACHE_CONTROL = 'max-age=1, stale-while-revalidate=30, stale-if-error=60';

type Mode = 'ok' | 'error503' | 'hang';

/**
 * An origin whose every 200 is a new version (`v1`, `v2`, ... with a matching ETag), so an answer's
 * body tells whether it is the stored copy or a synchronous refetch. `held` delays answers on demand.
 */
async function rig(t: ExecutionContext, env: Record<string, string>) {
  const clock = testClock();
  const state = { mode: 'ok' as Mode, version: 0, hold: false, held: [] as (() => void)[] };
  const upstream = await startUpstream((_req: http.IncomingMessage, res: http.ServerResponse) => {
    if (state.mode === 'hang') return;
    const send = () => {
      if (state.mode === 'error503') {
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('down');
        return;
      }
      state.version++;
      res.writeHead(200, { 'cache-control': CACHE_CONTROL, etag: `"v${state.version}"` });
      res.end(`v${state.version}`);
    };
    if (state.hold) state.held.push(send);
    else send();
  }, clock);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ...env }, clock);
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const get = (path: string, headers: Record<string, string> = {}) => request(`${edge.url}${path}`, { headers });
  return { state, upstream, edge, get };
}

function storedBody(edge: TestEdge, key: string): string | undefined {
  return edge.edge.store.policy.peek(key)?.body.toString();
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
}

test('SERVE_STALE defaults to true; "false" and "0" turn it off; garbage is a ConfigError', (t) => {
  t.true(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' }).serveStale);
  t.false(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', SERVE_STALE: 'false' }).serveStale);
  t.false(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', SERVE_STALE: '0' }).serveStale);
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', SERVE_STALE: 'sometimes' }), { message: /SERVE_STALE: / });
});

test('SERVE_STALE=true: stale within stale-while-revalidate is served at once, with one background revalidation', async (t) => {
  const { state, upstream, edge, get } = await rig(t, { SERVE_STALE: 'true' });
  t.is((await get('/s')).body, 'v1');
  edge.advance(5_000);
  state.hold = true;
  const answers = await Promise.all(Array.from({ length: 5 }, () => get('/s')));
  for (const answer of answers) {
    t.is(answer.body, 'v1');
    t.regex(answer.headers['cache-status'] as string, /^cdn-lab; hit; ttl=-\d+; detail=stale-while-revalidate$/);
  }
  await until(() => state.held.length > 0);
  t.is(upstream.requests.length, 2, 'one background revalidation for five stale hits');
  t.is(upstream.requests[1]?.headers['if-none-match'], '"v1"');
  state.hold = false;
  state.held.splice(0).forEach((send) => send());
  // The store is read directly (peek: no policy side effects) rather than through a request: with
  // max-age=1 and real time passing on a loaded machine, a later request could find v2 stale already.
  await until(() => storedBody(edge, '/s') === 'v2');
  t.is(storedBody(edge, '/s'), 'v2', `the background revalidation replaced the entry (${upstream.requests.length} upstream requests)`);
  t.is(upstream.requests.length, 2);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'stale' }), 5);
});

test('SERVE_STALE=false: a stale entry within stale-while-revalidate is revalidated synchronously', async (t) => {
  const { state, upstream, edge, get } = await rig(t, { SERVE_STALE: 'false' });
  t.is((await get('/s')).body, 'v1');
  edge.advance(5_000);
  const answer = await get('/s');
  t.is(answer.body, 'v2', 'the client waited for the new version instead of getting the stored one');
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=stale; stored');
  t.is(upstream.requests.length, 2);
  t.is(upstream.requests[1]?.headers['if-none-match'], '"v1"', 'still a conditional request');
  t.is(state.held.length, 0);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'stale' }), 0);
  t.is(storedBody(edge, '/s'), 'v2', 'the refetched copy replaced the stored one');
});

test('SERVE_STALE=true: an unreachable upstream is hidden by stale-if-error (beyond the SWR window)', async (t) => {
  const { upstream, edge, get } = await rig(t, { SERVE_STALE: 'true' });
  await get('/e');
  await upstream.close();
  edge.advance(40_000); // stale by 39 s: past stale-while-revalidate=30, within stale-if-error=60
  const answer = await get('/e');
  t.is(answer.status, 200);
  t.is(answer.body, 'v1');
  t.regex(answer.headers['cache-status'] as string, /^cdn-lab; fwd=stale; ttl=-\d+; detail=stale-if-error$/);
});

test('SERVE_STALE=false: an unreachable upstream yields 502, even within stale-if-error and with max-stale', async (t) => {
  const { upstream, edge, get } = await rig(t, { SERVE_STALE: 'false' });
  await get('/e');
  await upstream.close();
  edge.advance(5_000); // within both windows
  const answer = await get('/e');
  t.is(answer.status, 502);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=stale; detail=upstream-error');
  const withRequestDirectives = await get('/e', { 'cache-control': 'max-stale=100, stale-if-error=100' });
  t.is(withRequestDirectives.status, 502);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'error', code: '5xx' }), 2);
  t.is(await metricValue(edge.edge, 'edge_requests_total', { result: 'stale' }), 0);
});

test('SERVE_STALE=false: a hanging upstream yields 504 after UPSTREAM_TIMEOUT_MS', async (t) => {
  // 2 s, not less: the first fill must land on a busy machine too (it is the same deadline).
  const { state, edge, get } = await rig(t, { SERVE_STALE: 'false', UPSTREAM_TIMEOUT_MS: '2000' });
  await get('/h');
  state.mode = 'hang';
  edge.advance(5_000);
  const answer = await get('/h');
  t.is(answer.status, 504);
  t.is(answer.headers['cache-status'], 'cdn-lab; fwd=stale; detail=upstream-timeout');
});

test('SERVE_STALE=false: an upstream 503 is passed on instead of the stale copy', async (t) => {
  const on = await rig(t, { SERVE_STALE: 'true' });
  const off = await rig(t, { SERVE_STALE: 'false' });
  for (const r of [on, off]) {
    await r.get('/x');
    r.state.mode = 'error503';
    r.edge.advance(40_000);
  }
  const served = await on.get('/x');
  t.is(served.status, 200);
  t.regex(served.headers['cache-status'] as string, /fwd-status=503; ttl=-\d+; detail=stale-if-error/);
  const passed = await off.get('/x');
  t.is(passed.status, 503);
  t.is(passed.body, 'down');
});

test('client max-stale is honoured with SERVE_STALE=true and ignored with SERVE_STALE=false', async (t) => {
  const on = await rig(t, { SERVE_STALE: 'true' });
  const off = await rig(t, { SERVE_STALE: 'false' });
  for (const r of [on, off]) {
    await r.get('/m');
    r.edge.advance(100_000); // beyond both RFC 5861 windows, so only max-stale could allow stale
  }
  const served = await on.get('/m', { 'cache-control': 'max-stale=200' });
  t.is(served.body, 'v1');
  t.regex(served.headers['cache-status'] as string, /^cdn-lab; hit; ttl=-\d+; detail=max-stale$/);
  t.is(on.upstream.requests.length, 1);
  const refetched = await off.get('/m', { 'cache-control': 'max-stale=200' });
  t.is(refetched.body, 'v2');
  t.is(off.upstream.requests.length, 2);
});

test('SERVE_STALE=false: a soft purge makes the next request revalidate synchronously', async (t) => {
  const { upstream, edge, get } = await rig(t, { SERVE_STALE: 'false', ADMIN_TOKEN: 'test-token-1' });
  await get('/p');
  const purge = await request(`${edge.url}/_edge/purge`, {
    method: 'POST',
    headers: { authorization: 'Bearer test-token-1', 'content-type': 'application/json' },
    body: JSON.stringify({ url: '/p', soft: true }),
  });
  t.is(purge.status, 200);
  const answer = await get('/p');
  t.is(answer.body, 'v2');
  t.is(upstream.requests.length, 2);
});
