// The Docker stack for real: the Pulumi program's docker resources (recorded under mocks, so a
// change to the program is what runs) created on a Docker engine, images built from the
// Dockerfile, driven through the published front door with the lab's balancer and with nginx, and
// checked against the stack's own Prometheus and against the local lab on the same topology.
// Needs a Docker engine and the base images of infra/docker-base/make-base-images.sh; .ci/run
// provides both. Without them it skips with the reason, except under CI, where that is a failure.
import test, { type ExecutionContext } from 'ava';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import getPort from 'get-port';
import { parseWorkload, idStream } from '@cdn-lab/loadtest/workload';
import { parseTopology } from '../../src/topology.ts';
import { REPO_ROOT, startLab } from '../../src/local/lab.ts';
import { applyStack, removeLeftovers, type AppliedStack, type RecordedProgram } from './apply-stack.ts';

const TSX = createRequire(import.meta.url).resolve('tsx/cli');
const STACK = 'citest';
const PREFIX = `cdn-lab-${STACK}`;
const BASE_IMAGES = ['node:24-slim', 'nginxinc/nginx-unprivileged:1.29-alpine', 'prom/prometheus:v3.5.0'];
/** Grafana, Loki and Alloy have no package in any registry this machine reaches. */
const LEFT_OUT = Object.fromEntries(
  ['loki', 'alloy', 'grafana'].map((id) => [`${PREFIX}-${id}`, `no ${id} image can be made here (no package in any reachable registry)`]),
);
/** The stack's admin token (cdn-lab:adminToken): purge works with it on an edge's own address only. */
const ADMIN_TOKEN = 'live-stack-admin-token';
/** The workload: the same seeded Zipf stream through the stack and through the local lab. */
const REQUESTS = 3000;
const CONCURRENCY = 4;
const TOPOLOGY = {
  name: 'docker-live',
  origin: { count: 1, objects: 5000, latencyMs: 2, jitterMs: 0 },
  edges: { count: 2, policy: 'lru', cacheBytes: '4MiB' },
  balancer: { algorithm: 'consistent-hash' },
};

/** A CLI that builds with BuildKit: one with buildx, else the engine package's own client. */
function dockerCli(): string {
  if (process.env.DOCKER_CLI) return process.env.DOCKER_CLI;
  try {
    execFileSync('docker', ['buildx', 'version'], { stdio: 'ignore' });
    return 'docker';
  } catch {
    return existsSync('/usr/bin/docker') ? '/usr/bin/docker' : 'docker';
  }
}

async function whyNot(engine: Docker): Promise<string | undefined> {
  try {
    await engine.ping();
  } catch (error) {
    return `no Docker engine answers (${(error as Error).message}); start dockerd`;
  }
  for (const image of BASE_IMAGES) {
    try {
      await engine.getImage(image).inspect();
    } catch {
      return `base image ${image} is missing; run infra/docker-base/make-base-images.sh`;
    }
  }
  return undefined;
}

const engine = new Docker();
const missing = await whyNot(engine);
const live = missing && !process.env.CI ? (test.serial.skip as typeof test.serial) : test.serial;
if (missing) process.stderr.write(`stack-live.test.ts: ${missing}${process.env.CI ? '' : '; skipped'}\n`);

async function record(balancer: 'lab' | 'nginx', ports: { cdn: number; grafana: number; prometheus: number }): Promise<RecordedProgram> {
  const spec = {
    stack: STACK,
    config: {
      'cdn-lab:backend': 'docker',
      'cdn-lab:topology': JSON.stringify(TOPOLOGY),
      'cdn-lab:docker': JSON.stringify({ balancer, bindAddress: '127.0.0.1', ports, imageTag: 'citest', scrapeIntervalSeconds: 1 }),
      'cdn-lab:grafanaAdminPassword': 'unused-here',
      'cdn-lab:adminToken': ADMIN_TOKEN,
    },
    secretKeys: ['cdn-lab:grafanaAdminPassword', 'cdn-lab:adminToken'],
  };
  const { stdout } = await promisify(execFile)(process.execPath, [TSX, path.join(import.meta.dirname, 'record-program.ts'), JSON.stringify(spec)], {
    cwd: REPO_ROOT,
    maxBuffer: 64 << 20,
  });
  return JSON.parse(stdout) as RecordedProgram;
}

/** Runs a command in a running container; its exit code and (multiplexed) output. */
async function execIn(engine: Docker, containerId: string, cmd: string[]): Promise<{ exitCode: number; output: string }> {
  const exec = await engine.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  await new Promise((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  return { exitCode: (await exec.inspect()).ExitCode ?? -1, output: Buffer.concat(chunks).toString('latin1') };
}

interface Drive {
  hits: number;
  statuses: Map<number, number>;
}

/** The workload's requests through `baseUrl`, CONCURRENCY at a time; hits read from Cache-Status. */
async function drive(baseUrl: string): Promise<Drive> {
  const next = idStream(parseWorkload({ kind: 'zipf', objects: 2000, alpha: 0.9, seed: 11 }), 1);
  const ids = Array.from({ length: REQUESTS }, next);
  const result: Drive = { hits: 0, statuses: new Map() };
  let cursor = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (cursor < ids.length) {
        const response = await fetch(`${baseUrl}/obj/${ids[cursor++]}`);
        await response.arrayBuffer();
        result.statuses.set(response.status, (result.statuses.get(response.status) ?? 0) + 1);
        if (/cdn-lab; (hit|.*collapsed)/.test(response.headers.get('cache-status') ?? '')) result.hits++;
      }
    }),
  );
  return result;
}

interface PromSample {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(prometheusUrl: string, promql: string): Promise<PromSample[]> {
  const response = await fetch(`${prometheusUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
  const body = (await response.json()) as { status: string; data: { result: PromSample[] } };
  if (body.status !== 'success') throw new Error(`query ${promql} failed: ${JSON.stringify(body)}`);
  return body.data.result;
}

/** Polls `check` until it returns a value (bounded; Prometheus scrapes every second here). */
async function eventually<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

const sum = (samples: PromSample[]) => samples.reduce((total, s) => total + Number(s.value[1]), 0);

let localHitRatio: number | undefined;
const measured: Record<string, unknown> = {};

async function runStack(t: ExecutionContext, balancer: 'lab' | 'nginx', keepImages: boolean): Promise<void> {
  t.timeout(10 * 60_000, 'building images and starting the stack');
  await removeLeftovers(engine, STACK, PREFIX);
  const ports = { cdn: await getPort(), grafana: await getPort(), prometheus: await getPort() };
  const program = await record(balancer, ports);
  const containers = program.resources.filter((r) => r.type === 'docker:index/container:Container').map((r) => r.inputs.name as string);
  t.true(containers.includes(`${PREFIX}-edge-1`) && containers.includes(`${PREFIX}-prometheus`), 'the program declares the edges and Prometheus');

  let stack: AppliedStack | undefined;
  try {
    stack = await applyStack(program, { engine, cli: dockerCli(), leaveOut: LEFT_OUT, buildNetwork: 'host', log: (line) => t.log(line) });
    measured[balancer] = {
      createToHealthyMs: Math.round(stack.createToHealthyMs),
      images: Object.fromEntries([...stack.images].map(([tag, i]) => [tag, { buildS: +(i.buildMs / 1000).toFixed(1), sizeMB: +(i.sizeBytes / 1e6).toFixed(0) }])),
    };
    t.log(`${balancer}: ${JSON.stringify(measured[balancer])}`);
    for (const name of Object.keys(LEFT_OUT)) t.false(stack.containers.has(name), `${name} is left out`);

    // Every created container is running and healthy (the ones with a health check).
    for (const [name, id] of stack.containers) {
      const state = (await engine.getContainer(id).inspect()).State;
      t.true(state.Running, `${name} runs`);
      if (state.Health) t.is(state.Health.Status, 'healthy', `${name} is healthy`);
    }

    const cdnUrl = program.outputs.cdnUrl as string;
    t.is(cdnUrl, `http://127.0.0.1:${ports.cdn}`);
    const first = await fetch(`${cdnUrl}/obj/1`);
    await first.arrayBuffer();
    const second = await fetch(`${cdnUrl}/obj/1`);
    await second.arrayBuffer();
    t.is(second.status, 200);
    t.regex(second.headers.get('cache-status') ?? '', /cdn-lab; hit/, 'a repeated request is a cache hit');

    // Clients reach the CDN only: metrics and admin routes are refused at the front door.
    for (const path of ['/metrics', '/_lb/backends', '/_edge/purge', '/_admin/faults']) {
      const refused = await fetch(`${cdnUrl}${path}`);
      await refused.arrayBuffer();
      t.is(refused.status, 404, `${balancer} front door ${path}`);
    }
    // Operators purge on an edge's own address, which only the lab network reaches: from inside edge-0.
    const purge = (token: string) =>
      `fetch('http://127.0.0.1:8080/_edge/purge', { method: 'POST', headers: { authorization: 'Bearer ${token}', 'content-type': 'application/json' }, body: '{"prefix":"/obj/"}' })` +
      `.then((r) => console.log('status=' + r.status))`;
    const edgeId = stack.containers.get(`${PREFIX}-edge-0`)!;
    t.regex((await execIn(engine, edgeId, ['node', '-e', purge(ADMIN_TOKEN)])).output, /status=200/, 'purge with the stack\'s admin token');
    t.regex((await execIn(engine, edgeId, ['node', '-e', purge('wrong-token-here')])).output, /status=401/, 'purge with a wrong token');

    const result = await drive(cdnUrl);
    t.deepEqual([...result.statuses], [[200, REQUESTS]], 'every request answered 200');
    const hitRatio = result.hits / REQUESTS;
    (measured[balancer] as Record<string, unknown>).hitRatio = +hitRatio.toFixed(4);

    // The stack's own Prometheus: every lab target up, origin and edges agreeing, rules evaluated.
    const prometheusUrl = program.outputs.prometheusUrl as string;
    const expectedJobs = balancer === 'nginx' ? 3 : 4; // origin-0, edge-0, edge-1 (+ lb-0; nginx has no /metrics)
    const up = await eventually('every lab target up == 1', async () => {
      const samples = await query(prometheusUrl, 'up');
      return samples.length === expectedJobs && samples.every((s) => s.value[1] === '1') ? samples : undefined;
    });
    t.is(up.length, expectedJobs);
    // Counters are scraped once a second: wait until origin and edge counts are both past the run.
    const counts = await eventually('origin count equals what the edges fetched', async () => {
      const origin = sum(await query(prometheusUrl, 'sum(origin_http_requests_total{route=~"obj|short|nostore"})'));
      const fetched = sum(await query(prometheusUrl, 'sum(edge_upstream_requests_total{upstream="origin"})'));
      const served = sum(await query(prometheusUrl, 'sum(edge_requests_total)'));
      return served >= REQUESTS + 2 && origin === fetched ? { origin, fetched, served } : undefined;
    });
    t.is(counts.origin, counts.fetched);
    t.is(counts.served, REQUESTS + 2, 'the edges counted every request');
    t.is(counts.origin, REQUESTS + 2 - (result.hits + 1), 'every request the client saw as a miss went to the origin once');
    const ratio = await eventually('the recording rule fleet:hit_ratio:rate1m has a value', async () => {
      const samples = await query(prometheusUrl, 'fleet:hit_ratio:rate1m');
      return samples.length > 0 && Number(samples[0]!.value[1]) > 0 ? Number(samples[0]!.value[1]) : undefined;
    });
    t.true(ratio > 0 && ratio <= 1, `fleet hit ratio ${ratio}`);

    t.not(localHitRatio, undefined, 'the local lab ran first');
    const gap = Math.abs(hitRatio - localHitRatio!) * 100;
    t.log(`${balancer}: hit ratio ${(hitRatio * 100).toFixed(1)}% on Docker, ${(localHitRatio! * 100).toFixed(1)}% on the local lab`);
    t.true(gap <= 2, `hit ratio on Docker ${(hitRatio * 100).toFixed(1)}% vs local ${(localHitRatio! * 100).toFixed(1)}%: within 2 points`);
  } finally {
    await stack?.teardown({ keepImages });
  }
  // Nothing of the stack is left on the engine.
  t.deepEqual(await engine.listContainers({ all: true, filters: { label: [`cdn-lab.stack=${STACK}`] } }), []);
  t.deepEqual(await engine.listNetworks({ filters: { name: [`${PREFIX}-`] } }), []);
  t.deepEqual((await engine.listVolumes({ filters: { name: [`${PREFIX}-`] } })).Volumes ?? [], []);
}

if (missing && process.env.CI) {
  test('the Docker stack runs for real (CI must have an engine and base images)', (t) => {
    t.fail(missing);
  });
}

live('the local lab on the same topology and seed (the reference hit ratio)', async (t) => {
  const lab = await startLab(parseTopology(TOPOLOGY));
  try {
    const result = await drive(lab.balancerUrl);
    t.deepEqual([...result.statuses], [[200, REQUESTS]]);
    localHitRatio = result.hits / REQUESTS;
    t.true(localHitRatio > 0.2 && localHitRatio < 0.95, `a cache under pressure: ${localHitRatio}`);
  } finally {
    await lab.stop();
  }
});

live('the Docker stack with the lab balancer: images build, containers healthy, traffic, Prometheus, teardown', async (t) => {
  await runStack(t, 'lab', true);
});

live('the Docker stack with nginx in front', async (t) => {
  await runStack(t, 'nginx', false);
  for (const tag of ['cdn-lab/origin:citest', 'cdn-lab/edge-node:citest', 'cdn-lab/load-balancer:citest']) {
    await t.throwsAsync(engine.getImage(tag).inspect(), undefined, `${tag} removed`);
  }
  process.stderr.write(`stack-live.test.ts measured: ${JSON.stringify(measured)}\n`);
});
