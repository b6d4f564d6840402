import test from 'ava';
import { scrape, startOrigin, total } from './helpers.ts';

const ADMIN_TOKEN = 'faults-test-token';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function statuses(url: string, count: number): Promise<number[]> {
  const result: number[] = [];
  // Sequential, so the order of the seeded draws is the order of the ids.
  for (let id = 0; id < count; id++) {
    const response = await fetch(`${url}/obj/${id % 1000}`);
    await response.arrayBuffer();
    result.push(response.status);
  }
  return result;
}

test('ERROR_RATE answers that fraction of catalogue requests 500, reproducibly per seed', async (t) => {
  const requests = 1000;
  const a = await startOrigin(t, { errorRate: 0.2, catalogueSeed: 11 });
  const b = await startOrigin(t, { errorRate: 0.2, catalogueSeed: 11 });
  const first = await statuses(a.url, requests);
  const second = await statuses(b.url, requests);
  const errors = first.filter((s) => s === 500).length;
  t.true(first.every((s) => s === 200 || s === 500));
  t.true(Math.abs(errors / requests - 0.2) < 0.04, `error fraction ${errors / requests}`);
  t.deepEqual(second, first, 'same seed, same requests, same failures');
  t.is(total(await scrape(a.url), 'origin_faults_injected_total', { kind: 'error' }), errors);
  // Health and metrics never fail.
  t.is((await fetch(`${a.url}/healthz`)).status, 200);
});

test('latency: LATENCY_MS plus uniform jitter before catalogue routes only', async (t) => {
  const delays: number[] = [];
  const sleep = async (ms: number) => void delays.push(ms);
  const origin = await startOrigin(t, { latencyMs: 20, latencyJitterMs: 10, adminToken: ADMIN_TOKEN }, { sleep });
  for (let id = 0; id < 60; id++) await (await fetch(`${origin.url}/obj/${id}`)).arrayBuffer();
  t.is(delays.length, 60);
  t.true(delays.every((ms) => Number.isInteger(ms) && ms >= 20 && ms <= 30), delays.join(','));
  t.true(new Set(delays).size > 3, 'jitter varies the delay');
  await fetch(`${origin.url}/healthz`);
  await fetch(`${origin.url}/_admin/faults`, { headers: auth });
  const samples = await scrape(origin.url);
  t.is(delays.length, 60, 'healthz, admin and metrics are not delayed');
  t.is(total(samples, 'origin_faults_injected_total', { kind: 'latency' }), 60);
});

test('PUT /_admin/faults changes faults at runtime; GET shows them; DELETE restores the config', async (t) => {
  const delays: number[] = [];
  const origin = await startOrigin(t, { latencyMs: 3, adminToken: ADMIN_TOKEN }, { sleep: async (ms) => void delays.push(ms) });
  const put = (body: unknown) =>
    fetch(`${origin.url}/_admin/faults`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

  const latencyDefaults = { latencyDistribution: 'uniform', latencySigma: 0.5, latencyParetoAlpha: 2, latencyMaxMs: 10_000 };
  t.deepEqual(await (await fetch(`${origin.url}/_admin/faults`, { headers: auth })).json(), { ...latencyDefaults, latencyMs: 3, jitterMs: 0, errorRate: 0, down: false });

  const updated = await put({ errorRate: 1, latencyMs: 50 });
  t.is(updated.status, 200);
  t.deepEqual(await updated.json(), { ...latencyDefaults, latencyMs: 50, jitterMs: 0, errorRate: 1, down: false });
  t.is((await fetch(`${origin.url}/obj/1`)).status, 500);
  t.is(delays.at(-1), 50);

  t.is((await put({ errorRate: 0, down: true })).status, 200);
  const down = await fetch(`${origin.url}/short/1`);
  t.is(down.status, 503);
  t.is(down.headers.get('cache-control'), 'no-store');
  t.is((await fetch(`${origin.url}/healthz`)).status, 200, 'healthz stays up while catalogue is down');

  const reset = await fetch(`${origin.url}/_admin/faults`, { method: 'DELETE', headers: auth });
  t.deepEqual(await reset.json(), { ...latencyDefaults, latencyMs: 3, jitterMs: 0, errorRate: 0, down: false });
  t.is((await fetch(`${origin.url}/obj/1`)).status, 200);

  const samples = await scrape(origin.url);
  t.is(total(samples, 'origin_faults_injected_total', { kind: 'error' }), 1);
  t.is(total(samples, 'origin_faults_injected_total', { kind: 'down' }), 1);
});

test('a bad faults body is a 400 naming the field, and changes nothing', async (t) => {
  const origin = await startOrigin(t, { adminToken: ADMIN_TOKEN });
  const before = await (await fetch(`${origin.url}/_admin/faults`, { headers: auth })).json();
  const cases: Array<[string, string | undefined, RegExp]> = [
    [JSON.stringify({ errorRate: 2 }), 'application/json', /errorRate: /],
    [JSON.stringify({ latencyMs: -5, down: false }), 'application/json', /latencyMs: /],
    [JSON.stringify({ jitterMs: 'lots' }), 'application/json', /jitterMs: /],
    [JSON.stringify({ down: 'yes' }), 'application/json', /down: /],
    [JSON.stringify({ errorrate: 0.5 }), 'application/json', /errorrate/],
    [JSON.stringify([1]), 'application/json', /\(root\): /],
    ['{"errorRate": 0.5', 'application/json', /invalid JSON body: /],
    [JSON.stringify({ errorRate: 0.5 }), 'text/plain', /Content-Type: application\/json/],
  ];
  for (const [body, contentType, message] of cases) {
    const headers: Record<string, string> = contentType ? { ...auth, 'content-type': contentType } : auth;
    const response = await fetch(`${origin.url}/_admin/faults`, { method: 'PUT', headers, body });
    t.is(response.status, 400, body);
    t.regex(((await response.json()) as { error: string }).error, message, body);
  }
  t.deepEqual(await (await fetch(`${origin.url}/_admin/faults`, { headers: auth })).json(), before);
  t.is((await fetch(`${origin.url}/_admin/faults`, { method: 'POST', headers: auth })).status, 405);
});

test('/_admin/faults needs ADMIN_TOKEN as a bearer token: 401 without or with a wrong one, 404 when no token is configured', async (t) => {
  const origin = await startOrigin(t, { adminToken: ADMIN_TOKEN });
  const down = JSON.stringify({ down: true });
  for (const authorization of [undefined, 'Bearer wrong-token-of-any-length', `Basic ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}x`]) {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) };
    const response = await fetch(`${origin.url}/_admin/faults`, { method: 'PUT', headers, body: down });
    t.is(response.status, 401, String(authorization));
    t.is(response.headers.get('www-authenticate'), 'Bearer realm="cdn-lab-origin"');
    t.is((await fetch(`${origin.url}/_admin/faults`, { method: 'DELETE', headers })).status, 401);
  }
  t.false(origin.faults.isDown(), 'no unauthenticated request changed the faults');
  t.is((await fetch(`${origin.url}/obj/1`)).status, 200);
  const accepted = await fetch(`${origin.url}/_admin/faults`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: down });
  t.is(accepted.status, 200);
  t.is((await fetch(`${origin.url}/obj/1`)).status, 503);

  const open = await startOrigin(t);
  const refused = await fetch(`${open.url}/_admin/faults`, { method: 'PUT', headers: { ...auth, 'content-type': 'application/json' }, body: down });
  t.is(refused.status, 404);
  t.regex(((await refused.json()) as { error: string }).error, /ADMIN_TOKEN is not set/);
  t.false(open.faults.isDown());
});
