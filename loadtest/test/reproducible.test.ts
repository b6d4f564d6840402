// A comparison's hit ratio is the workload's and the strategy's, not the machine's: the same
// comparison gives the same hit ratio (within 0.5 points) on a quiet machine and with both cores
// busy with other work. Phases are counted in requests and the warm-up runs to steady state, so a
// slower machine sends the same requests, only more slowly.
import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseComparison } from '../src/comparison.ts';
import { runComparison } from '../src/compare.ts';

const comparison = parseComparison({
  name: 'reproducible',
  base: { origin: { objects: 3000, latencyMs: 1, jitterMs: 0 }, edges: { count: 2, cacheBytes: '1MiB' }, balancer: { algorithm: 'consistent-hash' } },
  workload: { kind: 'zipf', objects: 3000, alpha: 0.9, seed: 5 },
  warmupWindow: 1000,
  measure: 3000,
  connections: 8,
  repetitions: 1,
  variants: [{ name: 'lru', topology: { edges: { policy: 'lru' } } }],
});

async function hitRatio(): Promise<{ hitRatio: number; warmup: number }> {
  const { report } = await runComparison(comparison, { outDir: await mkdtemp(path.join(os.tmpdir(), 'repro-')), progress: false, log: () => {} });
  const run = report.variants[0]!.runs[0]!;
  return { hitRatio: run.cache.hitRatio, warmup: run.warmup.requests };
}

/**
 * One process spinning per core: the "other work" a shared machine has. Each stops by itself after
 * ten minutes, or as soon as this process is gone (it looks every few million turns).
 */
const HOG = `const parent = process.ppid, end = Date.now() + 600000;
for (let i = 0; ; i++) if ((i & 0x3fffff) === 0 && (process.ppid !== parent || Date.now() > end)) process.exit(0);`;
function cpuHogs(): ChildProcess[] {
  return Array.from({ length: os.availableParallelism() }, () => spawn(process.execPath, ['-e', HOG], { stdio: 'ignore' }));
}

test('the same comparison gives the same hit ratio on a quiet and on a busy machine', async (t) => {
  t.timeout(10 * 60_000, 'two short comparisons, one beside a CPU hog');
  const quiet = await hitRatio();
  const hogs = cpuHogs();
  let busy: { hitRatio: number; warmup: number };
  try {
    busy = await hitRatio();
  } finally {
    for (const hog of hogs) hog.kill('SIGKILL');
  }
  t.log(`quiet ${(quiet.hitRatio * 100).toFixed(2)}% after ${quiet.warmup} warm-up requests; busy ${(busy.hitRatio * 100).toFixed(2)}% after ${busy.warmup}`);
  t.true(quiet.hitRatio > 0.2 && quiet.hitRatio < 0.95, `a cache under pressure: ${quiet.hitRatio}`);
  t.true(Math.abs(quiet.hitRatio - busy.hitRatio) <= 0.005, `quiet ${quiet.hitRatio} vs busy ${busy.hitRatio}: within 0.5 points`);
});
