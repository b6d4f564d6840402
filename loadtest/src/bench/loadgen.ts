// One measured (or warm-up) load run with whichever generator this machine has: wrk, else autocannon
// in a child process. Either is pinned to the load generator's core when taskset exists.
import { writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { pinned, runToEnd, type Pinning } from '@cdn-lab/infra/local/processes';
import { COUNTER_LUA, parseWrkOutput, wrkArgs, ZIPF_LUA, type LoadResult, type LoadSpec, type WrkScripts } from './wrk.ts';

export type GeneratorName = 'wrk' | 'autocannon';

export interface LoadGenerator {
  name: GeneratorName;
  /** Why this one was chosen, for the report. */
  note: string;
  run(spec: LoadSpec): Promise<LoadResult>;
}

const TSX_IMPORT = createRequire(import.meta.url).resolve('tsx');
const WORKER = path.join(path.dirname(fileURLToPath(import.meta.url)), 'autocannon-worker.ts');

/** wrk when `wrkPath` is given, else autocannon; `scratchDir` holds wrk's Lua scripts. */
export async function createLoadGenerator(wrkPath: string | undefined, pinning: Pinning, scratchDir: string): Promise<LoadGenerator> {
  // Generous: a run may overrun its duration while the server under test drains.
  const timeoutFor = (spec: LoadSpec) => spec.durationMs + 60_000;
  if (wrkPath) {
    const scripts: WrkScripts = { counter: path.join(scratchDir, 'counter.lua'), zipf: path.join(scratchDir, 'zipf.lua') };
    await writeFile(scripts.counter, COUNTER_LUA);
    await writeFile(scripts.zipf, ZIPF_LUA);
    return {
      name: 'wrk',
      note: `wrk (${wrkPath})`,
      async run(spec) {
        const { command, args } = pinned(wrkPath, wrkArgs(spec, scripts), pinning.cpu, pinning.taskset);
        const { stdout } = await runToEnd(command, args, { timeoutMs: timeoutFor(spec) });
        return parseWrkOutput(stdout);
      },
    };
  }
  return {
    name: 'autocannon',
    note: 'autocannon 9 in a child process (costs more CPU per request than wrk; apt-get install wrk)',
    async run(spec) {
      const { command, args } = pinned(process.execPath, ['--import', TSX_IMPORT, WORKER, JSON.stringify(spec)], pinning.cpu, pinning.taskset);
      const { stdout } = await runToEnd(command, args, { timeoutMs: timeoutFor(spec) });
      return JSON.parse(stdout.trim().split('\n').pop() ?? '') as LoadResult;
    },
  };
}
