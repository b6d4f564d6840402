// promtool and prometheus from Debian's `prometheus` package (.ci/run installs it). Tests that need
// them are skipped, with the reason logged, only when the binary is absent.
import { spawnSync } from 'node:child_process';
import test from 'ava';

function onPath(binary: string): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

export const HAS_PROMTOOL = onPath('promtool');
export const HAS_PROMETHEUS = onPath('prometheus');

/** `test` when promtool is installed, `test.skip` (with the reason printed once) otherwise. */
export function promtoolTest(file: string): typeof test {
  if (HAS_PROMTOOL) return test;
  process.stderr.write(`${file}: promtool is not on PATH (apt-get install -y prometheus); promtool tests skipped\n`);
  return test.skip as unknown as typeof test;
}

export interface RunResult {
  status: number | null;
  output: string;
}

export function promtool(args: string[], input?: string): RunResult {
  const run = spawnSync('promtool', args, { encoding: 'utf8', input, timeout: 30_000 });
  return { status: run.status, output: `${run.stdout ?? ''}${run.stderr ?? ''}` };
}
