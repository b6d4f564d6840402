// The cdn-lab command line as users run it: bad input refused with the field and exit code 2;
// `up --prometheus` starts the lab and a real Prometheus, and Ctrl-C stops every process.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import { hasPrometheusBinary } from '@cdn-lab/grafana/prometheus-process';

const TSX = createRequire(import.meta.url).resolve('tsx');
const CLI = path.join(REPO_ROOT, 'loadtest/src/cli.ts');

function runCli(args: string[]) {
  return spawnSync(process.execPath, ['--import', TSX, CLI, ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 180_000 });
}

test('an invalid comparison is refused before anything starts, naming the field', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cli-'));
  const file = path.join(dir, 'bad.yaml');
  await writeFile(file, 'name: bad\nvariants:\n  - name: a\n    topology: { edges: { policy: mru, count: 0 } }\n');
  const result = runCli(['compare', file]);
  t.is(result.status, 2);
  t.regex(result.stderr, /variants\.0\.topology\.edges\.policy: unknown cache policy "mru"/);
  t.regex(result.stderr, /variants\.0\.topology\.edges\.count: /);
  t.notRegex(result.stderr, /starting/);
});

test('bad flags are refused with the reason', (t) => {
  const result = runCli(['compare', '--measure', 'forever']);
  t.is(result.status, 2);
  t.regex(result.stderr, /measure: expected the measured phase: a number of requests like 20000, or a duration/);
  const short = runCli(['compare', '--measure', '50']);
  t.is(short.status, 2);
  t.regex(short.stderr, /measure: 50 requests is too short to say anything/);
  const rate = runCli(['compare', '--rate', '0']);
  t.not(rate.status, 0);
  t.regex(rate.stderr, /expected a positive integer/);
  const missing = runCli(['compare', '/nonexistent/comparison.yaml']);
  t.is(missing.status, 2);
  t.regex(missing.stderr, /cannot read/);
  const topology = runCli(['up', '/nonexistent/topology.yaml']);
  t.is(topology.status, 2);
  t.regex(topology.stderr, /cannot read/);
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const withPrometheus = hasPrometheusBinary() ? test : test.skip;
if (!hasPrometheusBinary()) process.stderr.write('cli.test.ts: prometheus is not installed (apt-get install prometheus; .ci/run installs it): up --prometheus skipped\n');

withPrometheus('up --prometheus runs the lab and Prometheus, which scrapes every service; Ctrl-C stops all', async (t) => {
  // Starting five processes on a busy machine can take minutes; the wait is on their output.
  t.timeout(6 * 60_000, 'the lab and Prometheus starting');
  const child = spawn(process.execPath, ['--import', TSX, CLI, 'up', '--prometheus'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  try {
    const deadline = Date.now() + 5 * 60_000;
    while (!/send traffic to (http:\/\/\S+)/.test(out) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    const balancer = /send traffic to (http:\/\/\S+)/.exec(out)?.[1];
    const prometheus = /prometheus (http:\/\/\S+)/.exec(err)?.[1];
    t.truthy(balancer, `stdout: ${out}\nstderr: ${err}`);
    t.truthy(prometheus, err);
    for (let i = 0; i < 20; i++) await (await fetch(`${balancer}/obj/${i % 5}`)).arrayBuffer();
    // Every service becomes an `up` target within a few scrapes.
    let up: { metric: { job: string }; value: [number, string] }[] = [];
    for (let i = 0; i < 400; i++) {
      const body = (await (await fetch(`${prometheus}/api/v1/query?query=up`)).json()) as { data: { result: typeof up } };
      up = body.data.result;
      if (up.length === 4 && up.every((s) => s.value[1] === '1')) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    t.deepEqual(up.map((s) => s.metric.job).sort(), ['balancer', 'edge', 'edge', 'origin']);
    t.true(up.every((s) => s.value[1] === '1'));
  } finally {
    // Four services and Prometheus, each printed with its pid.
    const pids = [...err.matchAll(/\(pid (\d+)/g)].map((m) => Number(m[1]));
    t.is(pids.length, 5, err);
    t.true(pids.every(isAlive));
    child.kill('SIGINT');
    t.is(await exited, 130);
    t.true(pids.every((pid) => !isAlive(pid)), 'every service and Prometheus stopped');
  }
});
