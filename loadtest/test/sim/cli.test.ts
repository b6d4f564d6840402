import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test from 'ava';

const run = promisify(execFile);
const CLI = path.resolve(fileURLToPath(import.meta.url), '../../../src/sim/cli.ts');

async function simulate(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 180_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('a run prints the table and writes results.json and a self-contained report.html', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-cli-'));
  const trace = path.join(dir, 'mini.csv');
  const rows = Array.from({ length: 2_000 }, (_, i) => `${i},k${(i * 7) % 97},${100 + (i % 13)}`);
  await writeFile(trace, `t,key,size\n${rows.join('\n')}\n`);
  const out = path.join(dir, 'run');
  const { code, stdout, stderr } = await simulate(['--trace', trace, '--policies', 'lru,sieve,belady,infinite', '--capacities', '0.1,50%', '--out', out]);
  t.is(code, 0, stderr);
  t.regex(stdout, /mini: 2,000 requests, 97 objects/);
  t.regex(stdout, /sieve/);
  const results = JSON.parse(await readFile(path.join(out, 'results.json'), 'utf8'));
  t.is(results.results.length, 8);
  t.deepEqual(results.policies, ['lru', 'sieve', 'belady', 'infinite']);
  const html = await readFile(path.join(out, 'report.html'), 'utf8');
  t.regex(html, /<svg/);
  t.notRegex(html, /<script/);
});

test('a synthetic workload can be generated, simulated and saved', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-cli-'));
  const saved = path.join(dir, 'syn.csv');
  const { code, stderr } = await simulate(['--synthetic', 'requests=5000,objects=500,seed=2,sizes=unit', '--save-trace', saved, '--policies', 'fifo', '--capacities', '0.05', '--unit', 'objects', '--out', path.join(dir, 'run'), '--workers', '0']);
  t.is(code, 0, stderr);
  t.regex(await readFile(saved, 'utf8'), /^t,key,size\n0,\d+,1\n/);
});

test('bad flags and bad trace lines: a clear message and a non-zero exit', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'sim-cli-'));
  const bad = path.join(dir, 'bad.csv');
  await writeFile(bad, 't,key,size\n1,a,10\n2,b,ten\n');
  const cases: [string[], RegExp][] = [
    [['--trace', bad, '--out', path.join(dir, 'x')], /bad\.csv:3: size "ten" is not a non-negative integer/],
    [['--trace', bad, '--policies', 'lru,bogus'], /unknown policy "bogus"/],
    [['--trace', bad, '--capacities', '0.1,huge'], /capacity "huge"/],
    [['--trace', bad, '--unit', 'pages'], /--unit.*pages/],
    [['--policies', 'lru'], /exactly one of --trace <csv> or --synthetic <spec>/],
    [['--trace', path.join(dir, 'missing.csv'), '--out', path.join(dir, 'y')], /trace file ".*missing\.csv" does not exist/],
    [['--trace', dir, '--out', path.join(dir, 'z')], /is a directory/],
    [['--synthetic', 'alpha=x'], /alpha=x/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = await simulate(args);
    t.is(code, 2, args.join(' '));
    t.notRegex(stderr, /\n\s+at /, 'no stack trace');
    t.regex(stderr, message, args.join(' '));
  }
});
