// EDGE_WORKERS: a real edge process with two cluster workers on one port. Connections are spread
// over the workers, each with half the cache; /metrics sums both; a purge reaches both; SIGTERM stops
// all of them. Bad values exit 2 naming the variable. Every wait is on an event (answers, exit).
import { fork } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { edgeConfigFromEnv } from '../src/config.ts';
import { workerShare } from '../src/workers.ts';
import { startUpstream } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ADMIN_TOKEN = 'workers-test-token';

function start(env: Record<string, string>) {
  return fork(MAIN, [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

/** One request on a fresh connection (so cluster's round-robin picks a worker for each). */
function get(port: number, path: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: { connection: 'close', ...init.headers }, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

const metricValue = (text: string, line: RegExp) => Number(line.exec(text)?.[1] ?? NaN);

test('EDGE_WORKERS: bad values exit 2 naming the variable; a worker gets its share of the cache', async (t) => {
  for (const value of ['0', 'two', '1000']) {
    const child = start({ UPSTREAM_URLS: 'http://127.0.0.1:1', EDGE_WORKERS: value });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    t.is(code, 2, value);
    t.regex(stderr, /EDGE_WORKERS: /, value);
  }
  const config = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:1', EDGE_WORKERS: '3', CACHE_BYTES: '300', CACHE_MAX_OBJECTS: '31' });
  t.is(config.workers, 3);
  t.like(workerShare(config), { cacheBytes: 100, cacheMaxObjects: 10 });
  t.is(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:1' }).workers, 1);
});

test('two workers on one port: both serve, /metrics sums them, a purge reaches both, SIGTERM stops all', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const child = start({ UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-workers', EDGE_WORKERS: '2', CACHE_BYTES: String(8 * 1024 * 1024), ADMIN_TOKEN });
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  t.teardown(() => clearTimeout(killer));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<{ type: string; port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { type: string; port: number }));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  t.is(ready.type, 'ready');
  const workerPids = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  t.is(workerPids.length, 2, 'two worker processes');

  // 20 requests for one URL on fresh connections: round-robin sends them to both workers, each
  // caching it once, so the origin sees exactly two requests (one per worker cache).
  for (let i = 0; i < 20; i++) t.is((await get(ready.port, '/obj/1')).status, 200);
  t.is(upstream.count('/obj/1'), 2, 'one miss per worker: each has its own cache');

  const metrics = (await get(ready.port, '/metrics')).body;
  t.is(metricValue(metrics, /^edge_requests_total\{result="hit",code="2xx"\S*\} (\d+)/m) + metricValue(metrics, /^edge_requests_total\{result="miss",code="2xx"\S*\} (\d+)/m), 20);
  t.is(metricValue(metrics, /^edge_cache_capacity_bytes\S* (\d+)/m), 8 * 1024 * 1024, 'the two halves of the budget add up');
  t.is(metricValue(metrics, /^edge_cache_objects\S* (\d+)/m), 2);

  const purge = await get(ready.port, '/_edge/purge', { method: 'POST', headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: '{"url":"/obj/1"}' });
  t.is(purge.status, 200);
  const after = (await get(ready.port, '/metrics')).body;
  t.is(metricValue(after, /^edge_cache_objects\S* (\d+)/m), 0, 'both workers purged the URL');

  child.kill('SIGTERM');
  t.is(await exited, 0);
  for (const pid of workerPids) t.throws(() => process.kill(pid, 0), undefined, `worker ${pid} outlived the primary`);
});

test('two workers logging every miss to one pipe: every line comes out whole', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const child = start({ UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-workers-log', EDGE_WORKERS: '2', LOG_LEVEL: 'info' });
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  t.teardown(() => clearTimeout(killer));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  // Kept-alive connections from 8 clients, spread over both workers; every request a miss with a line.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  t.teardown(() => agent.destroy());
  let next = 0;
  const client = async () => {
    while (next < 3000) {
      const path = `/obj/${next++}`;
      await new Promise<void>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: ready.port, path, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
    }
  };
  await Promise.all(Array.from({ length: 8 }, client));
  child.kill('SIGTERM');
  t.is(await exited, 0);
  const lines = out.split('\n').filter(Boolean);
  const broken = lines.filter((line) => {
    try {
      JSON.parse(line);
      return false;
    } catch {
      return true;
    }
  });
  t.deepEqual(broken.slice(0, 3), [], `${broken.length} of ${lines.length} lines are not whole JSON`);
  t.is(lines.filter((line) => line.includes('"result":"miss"')).length, 3000);
});
