// `npm run bench`: the HTTP benchmark (the lab's edge against nginx proxy_cache and Varnish in front
// of the same origin), then the simulator's speed bench when one is present. See loadtest/BENCH.md.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError, Option } from 'commander';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import { formatBytes, parseBytes, parseDurationMs } from '@cdn-lab/infra/units';
import { createLoadGenerator } from './loadgen.ts';
import { largeObjectsLine, runLargeObjectsScenario, type LargeObjectsResult } from './large-objects.ts';
import { runMemoryScenario, type MemoryResult } from './memory.ts';
import { findExecutable } from '@cdn-lab/infra/local/processes';
import { bundleSources, formatProfileSummary, summarizeProfile, type CpuProfile } from './profile.ts';
import { DEFAULT_PROXIES, EDGE_LOG_DESTINATIONS, PROXY_NAMES, unavailableReason, type EdgeLogDestination, type ProxyName, type Tools } from './proxies.ts';
import { edgeReferenceLines, generatorCeilingLine, memoryLine, summarize, summaryTable } from './report.ts';
import {
  describeCores,
  logDirOf,
  measureGeneratorCeiling,
  missBlocksNeeded,
  runHttpBench,
  targetsFor,
  type BenchEnvironment,
  type Cores,
  type GeneratorCeiling,
  type HttpBenchOptions,
  type Measurement,
} from './run.ts';
import { HTTP_SCENARIOS, MISS_CATALOGUE_OBJECTS, parseNameList, SCENARIO_NAMES, type ScenarioName } from './scenarios.ts';
import { COUNTER_STRIDE } from './wrk.ts';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const TSX_IMPORT = createRequire(import.meta.url).resolve('tsx');
const MiB = 1024 * 1024;
/**
 * Bytes the memory scenario requests, as a multiple of the cache: the cache fills, then evicts as much
 * again. RSS right after filling once misses what steady eviction costs (dead bodies waiting for GC,
 * a fragmented malloc heap), which 1.1x did until issue 8's third session.
 */
const MEMORY_FILL_FACTOR = 2;
/** The large-objects scenario: the 4 concurrent 64 MiB responses through a 64 MiB cache, twice. */
const LARGE_OBJECTS = { cacheBytes: 64 * MiB, objectBytes: 64 * MiB, concurrency: 4, rounds: 2 };

function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`${what}: expected a positive integer, got "${value}"`);
    return n;
  };
}

function durationOption(min: number) {
  return (value: string): number => {
    const ms = parseDurationMs(value);
    if (ms === undefined) throw new InvalidArgumentError(`expected a duration like "5s" or "500ms", got "${value}"`);
    if (ms < min) throw new InvalidArgumentError(`must be at least ${min / 1000}s, got "${value}"`);
    if (min >= 1000 && ms % 1000 !== 0) throw new InvalidArgumentError(`wrk measures whole seconds, got "${value}"`);
    return ms;
  };
}

function bytesOption(value: string): number {
  const bytes = parseBytes(value);
  if (bytes === undefined || bytes < MiB) throw new InvalidArgumentError(`expected a size of at least 1MiB like "256MiB", got "${value}"`);
  return bytes;
}

const listOption =
  <T extends string>(allowed: readonly T[], what: string) =>
  (value: string): T[] => {
    try {
      return parseNameList(value, allowed, what);
    } catch (error) {
      throw new InvalidArgumentError((error as Error).message);
    }
  };

interface HttpCliOptions {
  rounds: number;
  duration: number;
  warmup: number;
  connections: number;
  threads: number;
  scenarios: ScenarioName[];
  proxies: ProxyName[];
  cacheBytes: number;
  memoryLimit: number;
  out?: string;
  pin: boolean;
  edgeLog: EdgeLogDestination;
  workers: number;
  profileEdge: boolean;
  loadGenerator: 'auto' | 'wrk' | 'autocannon';
}

function addHttpOptions(command: Command): Command {
  return command
    .option('--rounds <n>', 'interleaved rounds (at least 3 for a median that means something)', positiveInt('--rounds'), 3)
    .option('--duration <duration>', 'measured time per target and round, whole seconds', durationOption(1000), 5000)
    .option('--warmup <duration>', 'unrecorded load before each measurement (JIT, connection pools); 0s for none', durationOption(0), 1000)
    .option('--connections <n>', 'concurrent connections of the load generator', positiveInt('--connections'), 50)
    .option('--threads <n>', 'load generator threads (wrk -t)', positiveInt('--threads'), 1)
    .option('--scenarios <list>', `comma-separated: ${SCENARIO_NAMES.join(',')}`, listOption(SCENARIO_NAMES, 'scenario'), [...SCENARIO_NAMES])
    .option('--proxies <list>', `comma-separated: ${PROXY_NAMES.join(',')}`, listOption(PROXY_NAMES, 'proxy'), [...DEFAULT_PROXIES])
    .option('--cache-bytes <size>', 'cache size of every proxy (and the memory scenario)', bytesOption, 256 * MiB)
    .option('--memory-limit <size>', 'RSS the edge must stay under in the memory scenario', bytesOption, 400 * MiB)
    .option('--out <dir>', 'run folder (default: runs/bench-<time>)')
    .option('--no-pin', 'do not pin with taskset even where it exists')
    .addOption(
      new Option('--edge-log <destination>', "the edge's log lines: file (in the run folder on disk, as deployments write them) or discard (/dev/null)")
        .choices(EDGE_LOG_DESTINATIONS)
        .default('file'),
    )
    .option('--workers <n>', 'worker processes of the edge (EDGE_WORKERS) and nginx (worker_processes), pinned to CPUs 0..n-1', positiveInt('--workers'), 1)
    .option('--profile-edge', 'run the edge with --cpu-prof; profiles land in <run>/profiles', false)
    .addOption(new Option('--load-generator <name>', 'wrk when installed, else autocannon').choices(['auto', 'wrk', 'autocannon']).default('auto'));
}

async function toolVersion(command: string | undefined, args: string[]): Promise<string | undefined> {
  if (!command) return undefined;
  return new Promise((resolve) => {
    execFile(command, args, { timeout: 5000 }, (_error, stdout, stderr) => {
      resolve(`${stdout}${stderr}`.split('\n').find((line) => line.trim())?.trim());
    });
  });
}

/** The commit measured, with a mark when the edge's or origin's files differ from it. */
async function revision(): Promise<string> {
  const git = (args: string[]) =>
    new Promise<string>((resolve) => execFile('git', args, { cwd: REPO_ROOT, timeout: 5000 }, (error, stdout) => resolve(error ? '' : stdout.trim())));
  const head = await git(['rev-parse', '--short', 'HEAD']);
  if (!head) return 'unknown (not a git checkout)';
  const dirty = await git(['status', '--porcelain', '--', 'edge-node', 'origin', 'service-kit']);
  return dirty ? `${head} + uncommitted changes in edge-node/origin/service-kit` : head;
}

async function detectTools(pin: boolean): Promise<Tools> {
  const [wrk, nginx, varnishd, taskset] = await Promise.all(['wrk', 'nginx', 'varnishd', 'taskset'].map((name) => findExecutable(name)));
  return {
    ...(wrk ? { wrk } : {}),
    ...(nginx ? { nginx } : {}),
    ...(varnishd ? { varnishd } : {}),
    ...(taskset && pin ? { taskset } : {}),
  };
}

/**
 * The proxy on CPU 0 and the load generator on CPU 1; with several workers the proxy gets CPUs
 * 0..n-1 (capped at the machine's), so on a 2-core machine it shares CPU 1 with the generator.
 */
function coresFor(tools: Tools, workers: number): Cores {
  const cpus = os.availableParallelism();
  if (!tools.taskset || cpus < 2) return { proxy: { taskset: undefined, cpu: undefined }, loadgen: { taskset: undefined, cpu: undefined } };
  const proxyCpus = Math.min(workers, cpus);
  return { proxy: { taskset: tools.taskset, cpu: proxyCpus === 1 ? 0 : Array.from({ length: proxyCpus }, (_, i) => i).join(',') }, loadgen: { taskset: tools.taskset, cpu: Math.min(proxyCpus, cpus - 1) } };
}

function timestamp(date = new Date()): string {
  return date.toISOString().replace(/[:.]/g, '-').replace(/-\d{3}Z$/, 'Z');
}

/** The HTTP bench and the memory scenario, as `npm run bench` runs them. Returns the run folder. */
async function runHttpCommand(opts: HttpCliOptions): Promise<string> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const startedAt = new Date();
  const outDir = path.resolve(opts.out ?? path.join(REPO_ROOT, 'runs', `bench-${timestamp(startedAt)}`));
  await mkdir(logDirOf(outDir), { recursive: true });
  const scratchDir = await mkdtemp(path.join(os.tmpdir(), 'cdnlab-bench-'));
  // varnishd's unprivileged child must reach the VCL inside.
  await chmod(scratchDir, 0o755);

  const tools = await detectTools(opts.pin);
  const cores = coresFor(tools, opts.workers);
  const skipped: string[] = [];
  for (const proxy of opts.proxies) {
    const reason = unavailableReason(proxy, tools);
    if (reason) skipped.push(reason);
  }
  if (!opts.pin) skipped.push('pinning: --no-pin given, running unpinned');
  else if (!tools.taskset) skipped.push('pinning: taskset not found, running unpinned (apt-get install util-linux)');
  else if (cores.proxy.cpu === undefined) skipped.push('pinning: fewer than 2 CPUs, running unpinned');
  if (!opts.proxies.includes('nginx') || unavailableReason('nginx', tools)) skipped.push('ratios: nginx not measured, no ratios or goals');

  const httpScenarios = opts.scenarios.filter((s): s is HttpBenchOptions['scenarios'][number] => s !== 'memory' && s !== 'large-objects');
  if (httpScenarios.includes('misses')) {
    const targets = targetsFor(HTTP_SCENARIOS.misses, opts.proxies, tools).length;
    const blocks = missBlocksNeeded({ rounds: opts.rounds, threads: opts.threads }, targets);
    if ((blocks + 1) * COUNTER_STRIDE > MISS_CATALOGUE_OBJECTS) {
      throw new InvalidArgumentError(`misses need ${blocks} blocks of ${COUNTER_STRIDE} never-used ids but the catalogue holds ${MISS_CATALOGUE_OBJECTS}: use fewer --rounds or --threads`);
    }
  }

  if (opts.loadGenerator === 'wrk' && !tools.wrk) throw new InvalidArgumentError('--load-generator wrk: wrk is not installed (apt-get install wrk)');
  const generator = await createLoadGenerator(opts.loadGenerator === 'autocannon' ? undefined : tools.wrk, cores.loadgen, scratchDir);
  const env: BenchEnvironment = {
    tools,
    cores,
    generator,
    scratchDir,
    logDir: logDirOf(outDir),
    log,
  };
  const options: HttpBenchOptions = {
    rounds: opts.rounds,
    durationMs: opts.duration,
    warmupMs: opts.warmup,
    connections: opts.connections,
    threads: opts.threads,
    scenarios: httpScenarios,
    proxies: opts.proxies,
    cacheBytes: opts.cacheBytes,
    edgeLog: opts.edgeLog,
    workers: opts.workers,
    edgeExecArgv: opts.profileEdge ? ['--cpu-prof', `--cpu-prof-dir=${path.join(outDir, 'profiles')}`] : [],
  };
  const environment = {
    revision: await revision(),
    node: process.version,
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model,
    loadavgAtStart: os.loadavg(),
    loadGenerator: generator.note,
    wrk: await toolVersion(tools.wrk, ['-v']),
    nginx: await toolVersion(tools.nginx, ['-v']),
    varnishd: await toolVersion(tools.varnishd, ['-V']),
    pinning: describeCores(cores),
  };
  log(`bench: ${options.rounds} rounds x ${httpScenarios.join(', ') || 'no http scenario'}; ${opts.duration / 1000}s measured + ${opts.warmup / 1000}s warm-up per target; ${opts.connections} connections`);
  log(`bench: load generator ${generator.note}; ${environment.pinning}`);
  for (const line of skipped) log(`bench: ${line}`);

  const measurements: Measurement[] = [];
  let ceiling: GeneratorCeiling | undefined;
  let memory: MemoryResult | undefined;
  let memoryError: string | undefined;
  let largeObjects: LargeObjectsResult | undefined;
  let largeObjectsError: string | undefined;
  try {
    if (httpScenarios.length > 0) ceiling = await measureGeneratorCeiling(options, env);
    measurements.push(...(await runHttpBench(options, env)));
    if (opts.scenarios.includes('memory')) {
      const reason = unavailableReason('edge', tools);
      if (reason) skipped.push(`memory: ${reason}`);
      else {
        try {
          memory = await runMemoryScenario({ cacheBytes: opts.cacheBytes, fillFactor: MEMORY_FILL_FACTOR, concurrency: 16, limitBytes: opts.memoryLimit, edgeLog: opts.edgeLog }, env);
        } catch (error) {
          memoryError = (error as Error).message;
          log(`memory: failed: ${memoryError}`);
        }
      }
    }
    if (opts.scenarios.includes('large-objects')) {
      const reason = unavailableReason('edge', tools);
      if (reason) skipped.push(`large-objects: ${reason}`);
      else {
        try {
          largeObjects = await runLargeObjectsScenario({ ...LARGE_OBJECTS, edgeLog: opts.edgeLog }, env);
        } catch (error) {
          largeObjectsError = (error as Error).message;
          log(`large-objects: failed: ${largeObjectsError}`);
        }
      }
    }
  } finally {
    await rm(scratchDir, { recursive: true, force: true });
  }

  const loadavgAtEnd = os.loadavg();
  const rows = summarize(measurements, options.rounds);
  const table = rows.length ? summaryTable(rows) : '(no HTTP measurements)';
  const ceilingLine = ceiling ? generatorCeilingLine(ceiling, rows) : undefined;
  const referenceLines = edgeReferenceLines(rows);
  const args = process.argv.slice(2);
  const command = args.length ? `npm run bench -- ${args.join(' ')}` : 'npm run bench';
  const summaryText = [
    `cdn-lab bench, ${startedAt.toISOString()}`,
    `command: ${command}`,
    `load generator: ${generator.note}`,
    `pinning: ${environment.pinning}`,
    `rounds: ${options.rounds} interleaved (target order rotated each round), ${opts.duration / 1000}s measured after ${opts.warmup / 1000}s warm-up, ${opts.connections} connections, ${opts.threads} generator thread(s); ${opts.workers} worker process(es) for the edge and nginx; the edge logs to ${opts.edgeLog === "file" ? "a file in the run folder" : "/dev/null"}`,
    `revision: ${environment.revision}`,
    `cache size: ${formatBytes(opts.cacheBytes)} per proxy; node ${process.version}; ${environment.cpus} CPUs (${environment.cpuModel ?? 'unknown'}); load average (1/5/15 min) at start ${environment.loadavgAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavgAtEnd.map((x) => x.toFixed(2)).join(' ')}`,
    ...skipped.map((line) => `skipped: ${line}`),
    '',
    table,
    "cells: median over rounds (min-max); ratios are taken round by round against nginx (its access log buffered to a file, the goals' baseline) or bare-node, then the median (min-max) of those; CPU: the target's process tree, from /proc",
    ...referenceLines,
    ...(ceilingLine ? [ceilingLine] : []),
    ...(memory ? ['', memoryLine(memory)] : []),
    ...(memoryError ? ['', `memory: failed: ${memoryError}`] : []),
    ...(largeObjects ? ['', largeObjectsLine(largeObjects)] : []),
    ...(largeObjectsError ? ['', `large-objects: failed: ${largeObjectsError}`] : []),
    '',
  ].join('\n');
  const result = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    command,
    environment: { ...environment, loadavgAtEnd },
    options: { ...options, memoryLimitBytes: opts.memoryLimit, pin: opts.pin },
    skipped,
    measurements,
    summary: rows,
    ...(ceiling ? { generatorCeiling: ceiling } : {}),
    ...(memory ? { memory } : {}),
    ...(memoryError ? { memoryError } : {}),
    ...(largeObjects ? { largeObjects } : {}),
    ...(largeObjectsError ? { largeObjectsError } : {}),
  };
  await writeFile(path.join(outDir, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(path.join(outDir, 'summary.txt'), summaryText);
  process.stdout.write(`${table}\n`);
  for (const line of referenceLines) process.stdout.write(`${line}\n`);
  if (ceilingLine) process.stdout.write(`${ceilingLine}\n`);
  if (memory) process.stdout.write(`${memoryLine(memory)}\n`);
  if (largeObjects) process.stdout.write(`${largeObjectsLine(largeObjects)}\n`);
  const where = path.relative(process.cwd(), outDir) || outDir;
  process.stdout.write(`load generator: ${generator.note}\nraw: ${where}/bench.json  summary: ${where}/summary.txt\n`);
  if (opts.profileEdge) await printProfiles(path.join(outDir, 'profiles'));
  return outDir;
}

/** Line-to-source maps of the bundles a profile's frames ran from (those still on disk). */
async function bundlesOf(profile: CpuProfile): Promise<Map<string, (line: number) => string | undefined>> {
  const urls = new Set(profile.nodes.map((n) => n.callFrame.url).filter((url) => /\.mjs$/.test(url)));
  const bundles = new Map<string, (line: number) => string | undefined>();
  for (const url of urls) {
    const text = await readFile(url.replace(/^file:\/\//, ''), 'utf8').catch(() => undefined);
    if (text !== undefined) bundles.set(url, bundleSources(text));
  }
  return bundles;
}

async function printProfiles(dir: string): Promise<void> {
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.cpuprofile'));
  for (const file of files) {
    const profile = JSON.parse(await readFile(path.join(dir, file), 'utf8')) as CpuProfile;
    const summary = summarizeProfile(profile, 25, await bundlesOf(profile));
    const text = formatProfileSummary(summary);
    await writeFile(path.join(dir, `${file}.txt`), `${text}\n`);
    process.stdout.write(`\nedge CPU profile ${path.join(dir, file)}:\n${text}\n`);
  }
}

// ---- The simulator's speed bench (another engineer's `sim*.ts` in this folder) ----------------

/** The simulator bench's module in this folder (a file named sim*.ts), if it exists yet. */
async function findSimBench(): Promise<string | undefined> {
  const files = (await readdir(BENCH_DIR)).filter((f) => /^sim.*\.ts$/.test(f)).sort();
  return files[0] ? path.join(BENCH_DIR, files[0]) : undefined;
}

/**
 * HOOK for the simulator's speed bench: runs the first `sim*.ts` of this folder as its own process
 * (`node --import tsx sim.ts`, how that file says to run it: a script with top-level await, not a
 * module to import), echoes its report and keeps a copy in the run folder as sim-bench.txt.
 * Absent file: says so and succeeds, so `npm run bench` works before the sim bench lands.
 */
async function runSimHook(outDir: string | undefined): Promise<void> {
  const file = await findSimBench();
  if (!file) {
    process.stderr.write(`sim bench: no sim*.ts in ${path.relative(REPO_ROOT, BENCH_DIR)}, skipped\n`);
    return;
  }
  process.stderr.write(`\nsim bench: running ${path.relative(REPO_ROOT, file)}\n`);
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX_IMPORT, file], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
      process.stdout.write(chunk);
    });
    child.once('error', reject);
    child.once('close', (code, signal) => (code === 0 ? resolve(text) : reject(new Error(`sim bench: ${path.relative(REPO_ROOT, file)} exited with ${code ?? signal}`))));
  });
  if (outDir) await writeFile(path.join(outDir, 'sim-bench.txt'), output);
}

// ---- CLI ------------------------------------------------------------------------------------

const program = new Command()
  .name('npm run bench --')
  .description('HTTP benchmark of the edge against nginx proxy_cache and Varnish (then the simulator bench). See loadtest/BENCH.md.')
  .showHelpAfterError();

addHttpOptions(
  program
    .command('all', { isDefault: true })
    .description('the HTTP bench, then the simulator bench when present (what plain `npm run bench` does)'),
).action(async (opts: HttpCliOptions) => {
  const outDir = await runHttpCommand(opts);
  await runSimHook(outDir);
});

addHttpOptions(program.command('http').description('only the HTTP bench (and the memory scenario)')).action(async (opts: HttpCliOptions) => {
  await runHttpCommand(opts);
});

program
  .command('sim')
  .description('only the simulator speed bench (a sim*.ts module in loadtest/src/bench)')
  .action(async () => runSimHook(undefined));

program
  .command('profile-summary')
  .description('top frames and areas of a V8 CPU profile (node --cpu-prof), e.g. from --profile-edge')
  .argument('<file>', '.cpuprofile file')
  .addOption(new Option('--top <n>', 'functions to list').argParser(positiveInt('--top')).default(25))
  .action(async (file: string, opts: { top: number }) => {
    const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
    process.stdout.write(`${formatProfileSummary(summarizeProfile(profile, opts.top, await bundlesOf(profile)))}\n`);
  });

program.parseAsync().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`bench: ${message}\n`);
  process.exit(error instanceof InvalidArgumentError ? 2 : 1);
});
