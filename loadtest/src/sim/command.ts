// The `simulate` command (commander): flags -> runSimulation -> table on stdout, run folder with
// results.json and report.html. Exported so the main cdn-lab CLI can mount it as a subcommand;
// cli.ts runs it on its own.
import path from 'node:path';
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { runFolderName } from '../report.ts';
import { writeSimulationReport, simulationTable } from './report.ts';
import { CAPACITY_UNITS, parseCapacity, runSimulation, validatePolicies, type CapacityUnit } from './simulate.ts';
import { generateTrace, parseSyntheticSpec, traceToCsv } from './synthetic.ts';

const DEFAULT_POLICIES = 'lru,fifo,clock,lfu,arc,sieve,s3fifo,wtinylfu,belady,infinite';

function list(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter(Boolean);
}

function policiesOption(value: string): string[] {
  const policies = list(value);
  try {
    validatePolicies(policies);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return policies;
}

function capacitiesOption(value: string): string[] {
  const capacities = list(value);
  if (capacities.length === 0) throw new InvalidArgumentError('expected at least one capacity');
  try {
    capacities.forEach(parseCapacity);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return capacities;
}

function workersOption(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`expected a non-negative integer, got "${value}"`);
  return n;
}

function syntheticOption(value: string): string {
  try {
    parseSyntheticSpec(value);
  } catch (error) {
    throw new InvalidArgumentError((error as Error).message);
  }
  return value;
}

interface SimulateFlags {
  trace?: string;
  synthetic?: string;
  saveTrace?: string;
  policies: string[];
  capacities: string[];
  unit: CapacityUnit;
  workers?: number;
  out?: string;
  progress: boolean;
}

export function simulateCommand(name = 'simulate'): Command {
  return new Command(name)
    .description('replay a request trace through eviction policies at several cache sizes (miss-ratio curves vs Belady)')
    .option('--trace <csv>', 'trace file: lines "t,key,size" or "key,size", optional header')
    .option('--synthetic <spec>', 'generate a trace instead, e.g. "requests=1000000,objects=100000,alpha=0.9,seed=1,wonders=0.2,scan-every=100000,shift-every=200000,sizes=pareto"', syntheticOption)
    .option('--save-trace <csv>', 'with --synthetic: also write the generated trace as CSV')
    .option('--policies <list>', `comma-separated policies (second-hit+<policy> adds the admission filter)`, policiesOption, list(DEFAULT_POLICIES))
    .option('--capacities <list>', 'comma-separated sizes: fractions of the unique bytes/objects (0.01, 1%) or absolute (64MiB, 25000)', capacitiesOption, ['0.001', '0.01', '0.1'])
    .addOption(new Option('--unit <unit>', 'what capacities count').choices(CAPACITY_UNITS).default('bytes'))
    .option('--workers <n>', 'worker threads (default: one per core; 0 runs in-process)', workersOption)
    .option('--out <dir>', 'run folder (default: runs/<time>-sim-<trace>)')
    .option('--no-progress', 'no progress bar')
    .action(async (flags: SimulateFlags, command: Command) => {
      if (!flags.trace === !flags.synthetic) command.error('error: give exactly one of --trace <csv> or --synthetic <spec>', { exitCode: 2 });
      let trace: Parameters<typeof runSimulation>[0]['trace'];
      if (flags.synthetic) {
        trace = generateTrace(parseSyntheticSpec(flags.synthetic));
        if (flags.saveTrace) await writeFile(flags.saveTrace, traceToCsv(trace));
      } else trace = path.resolve(flags.trace!);
      const bar =
        flags.progress && process.stderr.isTTY
          ? new cliProgress.SingleBar({ format: 'simulating [{bar}] {percentage}% | {value}/{total} requests | eta {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
          : undefined;
      let started = false;
      const result = await runSimulation({
        trace,
        policies: flags.policies,
        capacities: flags.capacities,
        unit: flags.unit,
        ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
        onProgress: (done, total) => {
          if (!bar) return;
          if (!started) {
            bar.start(total, 0);
            started = true;
          }
          bar.update(done);
        },
      });
      bar?.stop();
      const dir = path.resolve(flags.out ?? path.join('runs', runFolderName(`sim-${result.trace.name}`)));
      await writeSimulationReport(dir, result);
      process.stdout.write(`${simulationTable(result)}\n`);
      const where = path.relative(process.cwd(), dir) || dir;
      process.stdout.write(`report: ${where}/report.html  raw: ${where}/results.json  (${(result.elapsedMs / 1000).toFixed(1)} s)\n`);
    });
}
