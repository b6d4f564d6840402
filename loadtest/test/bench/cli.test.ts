import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
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
    [['http', '--scenarios', 'hits-1k,hits-2k'], /unknown scenario "hits-2k"; valid: hits-1k, hits-64k, misses, memory/],
    [['http', '--proxies', 'squid'], /unknown proxy "squid"; valid: nginx, varnish, edge/],
    [['http', '--cache-bytes', '12'], /--cache-bytes.*at least 1MiB/],
  ];
  const results = await Promise.all(cases.map(([args]) => bench(args)));
  for (const [i, [args, message]] of cases.entries()) {
    const r = results[i]!;
    t.not(r.code, 0, args.join(' '));
    t.regex(r.stderr, message, args.join(' '));
  }
});

test('a one-round run measures nginx and the edge on cached hits and fills a small edge cache', async (t) => {
  t.timeout(6 * 60_000, 'a one-round bench on a possibly busy machine');
  if (!(await findExecutable('nginx'))) {
    t.log('nginx not installed: run with the edge only');
  }
  const out = await mkdtemp(path.join(os.tmpdir(), 'bench-cli-test-'));
  try {
    const r = await bench(['http', '--proxies', 'nginx,edge', '--scenarios', 'hits-1k,memory', '--rounds', '1', '--duration', '1s', '--warmup', '0s', '--connections', '4', '--cache-bytes', '4MiB', '--out', out]);
    t.is(r.code, 0, r.stderr);
    const result = JSON.parse(await readFile(path.join(out, 'bench.json'), 'utf8')) as {
      measurements: { target: string; ok: boolean; originRequests: number; load: { requests: number } }[];
      memory: { edgeCacheBytes: number; cacheBytes: number; rssBytes: number; failedRequests: number };
    };
    const edge = result.measurements.find((m) => m.target === 'edge');
    t.truthy(edge, 'no edge measurement');
    t.true(edge!.ok);
    t.true(edge!.load.requests > 0);
    // Cached hits: the origin saw none of the measured requests.
    t.is(edge!.originRequests, 0);
    if (await findExecutable('nginx')) t.true(result.measurements.some((m) => m.target === 'nginx' && m.ok && m.originRequests === 0));
    t.is(result.memory.failedRequests, 0);
    t.true(result.memory.edgeCacheBytes > 0 && result.memory.edgeCacheBytes <= result.memory.cacheBytes);
    t.true(result.memory.rssBytes > 0);
    const summary = await readFile(path.join(out, 'summary.txt'), 'utf8');
    t.regex(summary, /load generator: (wrk|autocannon)/);
    t.regex(r.stdout, /hits-1k/);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
