// The local lab end to end: real origin, edge and balancer processes on loopback ports.
import test from 'ava';
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { parseTopology } from '../src/topology.ts';
import { REPO_ROOT, startLab, LabStartError, type Lab } from '../src/local/lab.ts';
import { parseMetrics, sumMetric } from '@cdn-lab/loadtest/scrape';

const TSX = createRequire(import.meta.url).resolve('tsx');

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitUntil(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return check();
}

async function metricsOf(url: string) {
  return parseMetrics(await (await fetch(`${url}/metrics`)).text());
}

async function originRequests(lab: Lab): Promise<number> {
  let total = 0;
  for (const url of lab.originUrls) total += sumMetric(await metricsOf(url), 'origin_http_requests_total', { route: ['obj', 'short', 'nostore'] });
  return total;
}

// One lab shared by the serial tests below: starting processes is the slow part.
let lab: Lab;
test.before(async () => {
  lab = await startLab(
    parseTopology({
      origin: { objects: 1000, latencyMs: 50, jitterMs: 0 },
      edges: { count: 2, cacheBytes: '256KiB', policy: 'lru' },
      balancer: { algorithm: 'consistent-hash' },
    }),
  );
});
test.after.always(async () => {
  await lab?.stop();
});

test.serial('a miss then a hit through the balancer; the origin is asked once', async (t) => {
  const before = await originRequests(lab);
  const first = await fetch(`${lab.balancerUrl}/obj/7`);
  const firstBody = Buffer.from(await first.arrayBuffer());
  t.is(first.status, 200);
  t.regex(first.headers.get('cache-status') ?? '', /fwd=/);
  const second = await fetch(`${lab.balancerUrl}/obj/7`);
  const secondBody = Buffer.from(await second.arrayBuffer());
  t.is(second.status, 200);
  t.regex(second.headers.get('cache-status') ?? '', /hit/);
  t.true(firstBody.equals(secondBody));
  t.is(Number(second.headers.get('content-length')), secondBody.length);
  t.is((await originRequests(lab)) - before, 1);
});

test.serial('100 concurrent requests for one cold URL make exactly one origin request', async (t) => {
  const before = await originRequests(lab);
  const responses = await Promise.all(Array.from({ length: 100 }, () => fetch(`${lab.balancerUrl}/obj/42`).then(async (r) => ({ status: r.status, bytes: (await r.arrayBuffer()).byteLength }))));
  t.true(responses.every((r) => r.status === 200));
  t.is(new Set(responses.map((r) => r.bytes)).size, 1);
  t.is((await originRequests(lab)) - before, 1);
});

test.serial('no-store responses are never served from cache', async (t) => {
  const before = await originRequests(lab);
  for (let i = 0; i < 3; i++) {
    const response = await fetch(`${lab.balancerUrl}/nostore/5`);
    await response.arrayBuffer();
    t.is(response.status, 200);
    t.notRegex(response.headers.get('cache-status') ?? '', /; hit/);
  }
  t.is((await originRequests(lab)) - before, 3);
});

test.serial('each edge keeps its cache within its byte budget', async (t) => {
  for (let start = 100; start < 300; start += 25) {
    await Promise.all(Array.from({ length: 25 }, async (_, i) => (await fetch(`${lab.balancerUrl}/obj/${start + i}`)).arrayBuffer()));
  }
  for (const url of lab.edgeUrls) {
    const metrics = await metricsOf(url);
    const used = sumMetric(metrics, 'edge_cache_bytes');
    t.true(used > 0, 'the edge cached something');
    t.true(used <= 256 * 1024, `cache holds ${used} bytes`);
    t.is(sumMetric(metrics, 'edge_cache_capacity_bytes'), 256 * 1024);
  }
});

test.serial('a malformed request gets a 4xx, and the services stay up', async (t) => {
  const response = await fetch(`${lab.balancerUrl}/obj/not-a-number`);
  t.true(response.status >= 400 && response.status < 500, `status ${response.status}`);
  t.is((await fetch(`${lab.balancerUrl}/obj/1`)).status, 200);
});

test.serial('fault injection needs the lab\'s admin token on the origin itself and is never reachable through the balancer', async (t) => {
  const origin = lab.originUrls[0]!;
  const put = (base: string, headers: Record<string, string>) =>
    fetch(`${base}/_admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json', ...headers }, body: '{"latencyMs":1}' });
  const auth = { authorization: `Bearer ${lab.adminToken}` };
  t.is((await put(lab.balancerUrl, auth)).status, 404, 'the balancer refuses it, token or not');
  t.is((await put(lab.edgeUrls[0]!, auth)).status, 404, 'so does an edge');
  t.is((await put(origin, {})).status, 401);
  t.is((await put(origin, auth)).status, 200);
  t.is((await fetch(`${origin}/_admin/faults`, { method: 'DELETE', headers: auth })).status, 200);
});

test.serial('the balancer\'s metrics are on their own listener; its clients\' port refuses them', async (t) => {
  const balancer = lab.services.find((service) => service.plan.role === 'balancer')!;
  t.not(balancer.metricsUrl, balancer.url);
  const scrape = await fetch(`${balancer.metricsUrl}/metrics`);
  t.is(scrape.status, 200);
  t.regex(await scrape.text(), /^lb_requests_total\{/m);
  t.is((await fetch(`${balancer.metricsUrl}/_lb/backends`)).status, 200);
  for (const path of ['/metrics', '/_lb/backends']) {
    const refused = await fetch(`${lab.balancerUrl}${path}`);
    t.is(refused.status, 404, path);
    t.like(await refused.json(), { error: 'internal_path' }, path);
  }
  t.is((await fetch(`${lab.balancerUrl}/healthz`)).status, 200, 'health stays on the clients\' port for the front door\'s checks');
  for (const edge of lab.services.filter((service) => service.plan.role === 'edge')) t.is(edge.metricsUrl, edge.url);
});

test('stop leaves no process behind', async (t) => {
  const small = await startLab(parseTopology({ edges: { count: 1 } }));
  const pids = small.services.map((s) => s.pid);
  t.is(pids.length, 3);
  t.true(pids.every(isAlive));
  await small.stop();
  t.true(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 5000));
});

test('services exit on their own when the process that started them is killed', async (t) => {
  const script = path.join(REPO_ROOT, 'infra/test/fixtures/start-and-report.ts');
  const parent = fork(script, [], { cwd: REPO_ROOT, execArgv: ['--import', TSX], stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const pids = await new Promise<number[]>((resolve, reject) => {
    parent.once('message', (m) => resolve(m as number[]));
    parent.once('exit', (code) => reject(new Error(`fixture exited with ${code}`)));
  });
  t.true(pids.length >= 3 && pids.every(isAlive));
  parent.kill('SIGKILL');
  t.true(await waitUntil(() => pids.every((pid) => !isAlive(pid)), 20_000), 'every service exited after its parent was killed');
});

test('a service that cannot start fails the lab with its id and exit code', async (t) => {
  // LOG_LEVEL is validated by every service, so a bogus value makes the first one exit with code 2.
  const error = await t.throwsAsync(startLab(parseTopology({ edges: { count: 1 } }), { env: { LOG_LEVEL: 'bogus' } }), {
    instanceOf: LabStartError,
  });
  t.regex(error.message, /origin-0 exited before it was ready \(code 2/);
});
