import { spawnSync } from 'node:child_process';
import http from 'node:http';
import test from 'ava';
import { objectMeta } from '../src/catalogue.ts';
import { CODE_CLASSES } from '@cdn-lab/service-kit';
import { ROUTES } from '../src/metrics.ts';
import { capturingLogger, parseExposition, scrape, select, startOrigin, total } from './helpers.ts';

test('every known series exists at zero before any traffic, labelled with the origin id', async (t) => {
  const origin = await startOrigin(t, { originId: 'origin-z' });
  const samples = parseExposition(await origin.metrics.registry.metrics());
  for (const route of ROUTES) {
    for (const code of CODE_CLASSES) {
      t.deepEqual(select(samples, 'origin_http_requests_total', { route, code }).map((s) => s.value), [0], `${route} ${code}`);
    }
    t.is(select(samples, 'origin_response_bytes_total', { route }).length, 1);
    t.is(total(samples, 'origin_http_request_duration_seconds_count', { route }), 0);
  }
  for (const kind of ['error', 'down', 'latency']) t.is(select(samples, 'origin_faults_injected_total', { kind }).length, 1);
  t.true(samples.every((s) => s.labels.origin === 'origin-z'));
});

test('every request is counted exactly once, by route and status class, with its body bytes', async (t) => {
  const origin = await startOrigin(t);
  const meta = objectMeta(origin.catalogue, 1);
  const requests: Array<{ path: string; init?: RequestInit; route: string; code: string }> = [
    { path: '/obj/1', route: 'obj', code: '2xx' },
    { path: '/obj/2', route: 'obj', code: '2xx' },
    { path: '/obj/1', init: { headers: { 'If-None-Match': meta.etag } }, route: 'obj', code: '3xx' },
    { path: '/obj/1', init: { method: 'HEAD' }, route: 'obj', code: '2xx' },
    { path: '/obj/99999999', route: 'obj', code: '4xx' },
    { path: '/short/x', route: 'short', code: '4xx' },
    { path: '/nostore/4', route: 'nostore', code: '2xx' },
    { path: '/healthz', route: 'healthz', code: '2xx' },
    // Admin routes are off without ADMIN_TOKEN (404), and counted under their route all the same.
    { path: '/_admin/faults', route: 'admin', code: '4xx' },
    { path: '/favicon.ico', route: 'other', code: '4xx' },
    // Answered 500 once the error rate is 1 (below).
    { path: '/short/1', route: 'short', code: '5xx' },
  ];
  const bytesByRoute = new Map<string, number>();
  for (const request of requests) {
    if (request.code === '5xx') origin.faults.update({ errorRate: 1 });
    const response = await fetch(origin.url + request.path, request.init);
    const length = (await response.arrayBuffer()).byteLength;
    t.is(response.status >= 500 ? '5xx' : `${String(response.status)[0]}xx`, request.code, request.path);
    bytesByRoute.set(request.route, (bytesByRoute.get(request.route) ?? 0) + length);
  }
  t.true(bytesByRoute.get('obj')! >= objectMeta(origin.catalogue, 1).size + objectMeta(origin.catalogue, 2).size);

  const samples = await scrape(origin.url);
  const expected = new Map<string, number>();
  for (const { route, code } of requests) expected.set(`${route} ${code}`, (expected.get(`${route} ${code}`) ?? 0) + 1);
  for (const route of ROUTES) {
    for (const code of CODE_CLASSES) {
      t.is(total(samples, 'origin_http_requests_total', { route, code }), expected.get(`${route} ${code}`) ?? 0, `${route} ${code}`);
    }
  }
  t.is(total(samples, 'origin_http_requests_total'), requests.length);
  t.is(total(samples, 'origin_http_request_duration_seconds_count'), requests.length);
  for (const [route, bytes] of bytesByRoute) t.is(total(samples, 'origin_response_bytes_total', { route }), bytes, route);

  // The scrape itself shows up in the next one.
  const next = await scrape(origin.url);
  t.is(total(next, 'origin_http_requests_total', { route: 'metrics', code: '2xx' }), 1);
});

test('a client that leaves during injected latency is still counted once (as 4xx)', async (t) => {
  let release!: () => void;
  const waiting = new Promise<void>((resolve) => (release = resolve));
  let sleeping!: () => void;
  const asleep = new Promise<void>((resolve) => (sleeping = resolve));
  const origin = await startOrigin(t, { latencyMs: 1000 }, {
    sleep: () => {
      sleeping();
      return waiting;
    },
  });
  // node:http rather than fetch: undici opens a spare connection after an abort, which would hold
  // the server open at teardown.
  const request = http.get(`${origin.url}/obj/1`, { agent: false });
  const outcome = new Promise<string>((resolve) => {
    request.once('response', () => resolve('answered'));
    request.once('error', (error) => resolve(error.message));
  });
  await asleep;
  request.destroy();
  t.is(await outcome, 'socket hang up');
  // Wait until the server has seen the connection close, then let the handler resume.
  for (let i = 0; i < 200 && total(parseExposition(await origin.metrics.registry.metrics()), 'origin_http_requests_total') === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  release();
  await new Promise((resolve) => setTimeout(resolve, 20));
  const samples = parseExposition(await origin.metrics.registry.metrics());
  t.is(total(samples, 'origin_http_requests_total'), 1);
  t.is(total(samples, 'origin_http_requests_total', { route: 'obj', code: '4xx' }), 1);
  t.is(total(samples, 'origin_response_bytes_total'), 0);
});

test('one JSON log line per request, at info', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const origin = await startOrigin(t, {}, { logger: capturingLogger(lines) });
  await (await fetch(`${origin.url}/obj/2`)).arrayBuffer();
  await (await fetch(`${origin.url}/obj/nope`)).arrayBuffer();
  await (await fetch(`${origin.url}/healthz`)).arrayBuffer();
  await new Promise((resolve) => setImmediate(resolve));
  const requests = lines.filter((line) => line.msg === 'request');
  t.is(requests.length, 3);
  t.like(requests[0], { level: 'info', method: 'GET', url: '/obj/2', route: 'obj', status: 200, bytes: objectMeta(origin.catalogue, 2).size });
  t.like(requests[1], { route: 'obj', status: 400 });
  t.like(requests[2], { route: 'healthz', status: 200 });
  t.is(typeof requests[0]!.ms, 'number');
});

test('default process metrics are prefixed origin_', async (t) => {
  const origin = await startOrigin(t, {}, { defaultMetrics: true });
  const samples = await scrape(origin.url);
  t.true(select(samples, 'origin_process_cpu_seconds_total').length === 1);
  t.is(select(samples, 'process_cpu_seconds_total').length, 0);
  t.is(select(samples, 'origin_nodejs_active_handles_total').length, 0, 'misnamed gauge dropped');
});

// promtool comes with the prometheus package (apt-get install prometheus); without it, skipped.
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;
(hasPromtool ? test : test.skip)('the exposition passes promtool check metrics', async (t) => {
  const origin = await startOrigin(t, {}, { defaultMetrics: true });
  await (await fetch(`${origin.url}/obj/1`)).arrayBuffer();
  const text = await (await fetch(`${origin.url}/metrics`)).text();
  const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.is(check.status, 0, check.stdout + check.stderr);
  t.is((check.stdout + check.stderr).trim(), '');
});
