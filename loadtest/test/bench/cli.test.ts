import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { findExecutable } from '@cdn-lab/infra/local/processes';

const MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src/bench/main.ts');
const TSX = createRequire(import.meta.url).resolve('tsx');

/** Runs the bench CLI; the kill is a safety net for a hung run, long enough for a busy machine. */
function bench(args: string[], timeoutMs = 5 * 60_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test('bad flags exit non-zero with a message naming the flag and what was wrong', async (t) => {
  const cases: [string[], RegExp][] = [
    [['http', '--rounds', '0'], /--rounds.*positive integer, got "0"/],
    [['http', '--duration', '1.5s'], /--duration.*whole seconds/],
    [['http', '--duration', 'soon'], /--duration.*expected a duration/],
    [['http', '--scenarios', 'hits-1k,hits-2k'], /unknown scenario "hits-2k"; valid: hits-1k, hits-64k, hits-1k-one-url, misses, memory/],
    [['http', '--proxies', 'squid'], /unknown proxy "squid"; valid: nginx, nginx-nolog, varnish, edge, bare-node, edge-nolog/],
    [['http', '--cache-bytes', '12'], /--cache-bytes.*at least 1MiB/],
  ];
  const results = await Promise.all(cases.map(([args]) => bench(args)));
  for (const [i, [args, message]] of cases.entries()) {
    const r = results[i]!;
    t.not(r.code, 0, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
});

test('a one-round run fills and measures nginx and the edge on Zipf hits over 10 000 URLs, the edge logging to a file; then fills a small edge cache', async (t) => {
  t.timeout(8 * 60_000, 'a one-round bench on a possibly busy machine');
  if (!(await findExecutable('nginx'))) {
    t.log('nginx not installed: run with the edge only');
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'bench-cli-test-'));
  try {
    // 10 000 x 1 KiB must fit every cache (nginx counts 4 KiB blocks per file: 40 MiB).
    const r = await bench(['http', '--proxies', 'nginx,edge', '--scenarios', 'hits-1k', '--rounds', '1', '--duration', '1s', '--warmup', '0s', '--connections', '4', '--cache-bytes', '64MiB', '--out', out]);
    t.is(r.code, 0, r.stderr);
    const result = JSON.parse(await readFile(path.join(out, 'bench.json'), 'utf8')) as {
      measurements: { target: string; ok: boolean; originRequests: number; cpuUsPerRequest: number; load: { requests: number } }[];
    };
    const edge = result.measurements.find((m) => m.target === 'edge');
    t.truthy(edge, 'no edge measurement');
    t.true(edge!.ok);
    t.true(edge!.load.requests > 0);
    t.true(edge!.cpuUsPerRequest > 0);
    // Every URL was cached beforehand: the origin saw none of the measured requests.
    t.is(edge!.originRequests, 0);
    if (await findExecutable('nginx')) t.true(result.measurements.some((m) => m.target === 'nginx' && m.ok && m.originRequests === 0));
    // The edge's log lines went to a file in the run folder: the fill's misses, then sampled hits.
    const logs = await readdir(path.join(out, 'logs'));
    const edgeLog = await readFile(path.join(out, 'logs', logs.find((f) => f.startsWith('edge-'))!), 'utf8');
    const access = edgeLog.split('\n').filter((line) => line.includes('"result":'));
    t.true(access.filter((line) => line.includes('"result":"miss"')).length >= 10_000, 'every URL was a miss once');
    t.true(access.some((line) => line.includes('"result":"hit"') && line.includes('"sample":')));
    const summary = await readFile(path.join(out, 'summary.txt'), 'utf8');
    t.regex(summary, /load generator: (wrk|autocannon)/);
    t.regex(r.stdout, /hits-1k/);

    const memoryRun = await bench(['http', '--proxies', 'edge', '--scenarios', 'memory', '--cache-bytes', '4MiB', '--out', path.join(out, 'memory')]);
    t.is(memoryRun.code, 0, memoryRun.stderr);
    const memory = (JSON.parse(await readFile(path.join(out, 'memory', 'bench.json'), 'utf8')) as { memory: { edgeCacheBytes: number; cacheBytes: number; rssBytes: number; failedRequests: number } }).memory;
    t.is(memory.failedRequests, 0);
    t.true(memory.edgeCacheBytes > 0 && memory.edgeCacheBytes <= memory.cacheBytes);
    t.true(memory.rssBytes > 0);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
