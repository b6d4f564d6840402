// The trace-driven simulator: every chosen policy at every chosen capacity over one trace, plus
// Belady's MIN (lower bound) and the infinite cache (compulsory misses) as references. Jobs run in
// worker threads sharing the trace's typed arrays (SharedArrayBuffer), one job per worker at a time.
import os from 'node:os';
import { Worker } from 'node:worker_threads';
import { isValidPolicySpec, POLICY_NAMES } from '@cdn-lab/edge-node/policies/registry';
import { nextUses } from './belady.ts';
import { BELADY, INFINITE, runJob, type Job, type JobCounts, type TraceArrays } from './replay.ts';
import { readTrace, type Trace } from './trace.ts';

export type CapacityUnit = 'bytes' | 'objects';
export const CAPACITY_UNITS: readonly CapacityUnit[] = ['bytes', 'objects'];
export const REFERENCE_POLICIES = [BELADY, INFINITE] as const;

/** Bad simulator input (a flag or option), with a message that names it. */
export class SimulationInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SimulationInputError';
  }
}

export interface CapacitySpec {
  /** As given, e.g. "0.01", "1%", "64MiB", "10000". */
  text: string;
  /** Fraction of the trace's unique bytes (or objects); absent for an absolute capacity. */
  fraction?: number;
  /** Absolute bytes (or objects). */
  absolute?: number;
}

const SUFFIXES: Record<string, number> = { k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30 };

/**
 * A capacity: a fraction of the trace's unique bytes/objects ("0.01", "1%"; a decimal at most 1),
 * or an absolute amount ("25000", "64MiB", "10k").
 */
export function parseCapacity(text: string): CapacitySpec {
  const trimmed = text.trim();
  const percent = /^(\d+(?:\.\d+)?)%$/.exec(trimmed);
  if (percent) {
    const fraction = Number(percent[1]) / 100;
    if (fraction > 0 && fraction <= 1) return { text: trimmed, fraction };
  }
  if (/^\d*\.\d+$/.test(trimmed)) {
    const fraction = Number(trimmed);
    if (fraction > 0 && fraction <= 1) return { text: trimmed, fraction };
  }
  const absolute = /^(\d+)([a-z]*)$/i.exec(trimmed);
  if (absolute) {
    const unit = absolute[2]!.toLowerCase();
    const scale = unit === '' ? 1 : SUFFIXES[unit];
    const value = Number(absolute[1]) * (scale ?? NaN);
    if (Number.isSafeInteger(value) && value > 0) return { text: trimmed, absolute: value };
  }
  throw new SimulationInputError(
    `capacity "${text}" is neither a fraction of the unique bytes/objects in (0, 1] (0.01 or 1%) nor a positive size (25000, 64MiB, 10k)`,
  );
}

/** The capacity in bytes (objects): a fraction is truncated like libCacheSim does, at least 1. */
export function resolveCapacity(spec: CapacitySpec, trace: Pick<Trace, 'uniqueBytes' | 'uniqueObjects'>, unit: CapacityUnit): number {
  if (spec.absolute !== undefined) return spec.absolute;
  const unique = unit === 'objects' ? trace.uniqueObjects : trace.uniqueBytes;
  return Math.max(1, Math.floor(unique * spec.fraction!));
}

export interface SimulationOptions {
  /** A CSV file path, or a trace already in memory. */
  trace: string | Trace;
  /** Policy names from the registry (also `second-hit+<name>`), plus `belady` and `infinite`. */
  policies: string[];
  capacities: (string | number)[];
  /** What a capacity counts; default bytes. */
  unit?: CapacityUnit;
  /** Worker threads; default min(jobs, available cores) for long replays, else none; 0 or 1 runs in this thread. */
  workers?: number;
  /** Called as requests are replayed (summed over jobs) and once the trace is loaded. */
  onProgress?: (done: number, total: number) => void;
}

export interface JobResult {
  policy: string;
  capacitySpec: string;
  /** Bytes, or objects for unit=objects. */
  capacity: number;
  unit: CapacityUnit;
  /** The capacity as a fraction of the trace's unique bytes (objects). */
  fractionOfUnique: number;
  requests: number;
  hits: number;
  misses: number;
  missRatio: number;
  hitBytes: number;
  byteMissRatio: number;
  evictions: number;
  rejected: number;
  elapsedMs: number;
}

export interface SimulationResult {
  trace: { name: string; path: string | null; requests: number; uniqueObjects: number; uniqueBytes: number; totalBytes: number; unitSizes: boolean };
  unit: CapacityUnit;
  policies: string[];
  capacities: { spec: string; capacity: number; fractionOfUnique: number }[];
  results: JobResult[];
  startedAt: string;
  elapsedMs: number;
  workers: number;
  node: string;
}

export function validatePolicies(policies: string[]): void {
  if (policies.length === 0) throw new SimulationInputError('no policies given');
  const unknown = policies.filter((p) => !isValidPolicySpec(p) && !(REFERENCE_POLICIES as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new SimulationInputError(
      `unknown polic${unknown.length > 1 ? 'ies' : 'y'} ${unknown.map((p) => `"${p}"`).join(', ')}; valid: ${[...POLICY_NAMES, ...REFERENCE_POLICIES].join(', ')} (and second-hit+<policy>)`,
    );
  }
}

export async function runSimulation(options: SimulationOptions): Promise<SimulationResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const unit = options.unit ?? 'bytes';
  if (!CAPACITY_UNITS.includes(unit)) throw new SimulationInputError(`unit must be one of ${CAPACITY_UNITS.join(', ')}, got "${unit}"`);
  validatePolicies(options.policies);
  const specs = options.capacities.map((c) => parseCapacity(String(c)));
  if (specs.length === 0) throw new SimulationInputError('no capacities given');

  const trace = typeof options.trace === 'string' ? await openTrace(options.trace) : options.trace;
  const capacities = specs.map((spec) => {
    const capacity = resolveCapacity(spec, trace, unit);
    const unique = unit === 'objects' ? trace.uniqueObjects : trace.uniqueBytes;
    return { spec: spec.text, capacity, fractionOfUnique: capacity / unique };
  });
  const objectMode = unit === 'objects';
  const policies = [...new Set(options.policies)];
  const jobs: Job[] = [];
  const jobCapacity: (typeof capacities)[number][] = [];
  for (const policy of policies) {
    if (policy === INFINITE) continue; // capacity-independent: run once below
    for (const cap of capacities) {
      jobs.push({ id: jobs.length, policy, capacity: cap.capacity, objectMode });
      jobCapacity.push(cap);
    }
  }
  const arrays: TraceArrays = { keys: trace.keys, sizes: trace.sizes, keyUniverse: trace.keyUniverse };
  if (policies.includes(BELADY)) arrays.next = nextUses(trace.keys);

  const total = jobs.length * trace.length;
  // Starting a worker costs about a second (it loads the TypeScript toolchain), worth it only
  // for a long replay.
  const requested = options.workers ?? (total < 4_000_000 ? 1 : os.availableParallelism());
  const workers = Math.max(1, Math.min(requested, new Set(jobs.map((j) => j.policy)).size));
  const counts = jobs.length === 0 ? [] : workers <= 1 ? runInline(arrays, jobs, total, options.onProgress) : await runInWorkers(arrays, jobs, workers, total, options.onProgress);

  const results: JobResult[] = [];
  const describe = (policy: string, cap: (typeof capacities)[number], c: JobCounts): JobResult => ({
    policy,
    capacitySpec: cap.spec,
    capacity: cap.capacity,
    unit,
    fractionOfUnique: cap.fractionOfUnique,
    requests: c.requests,
    hits: c.hits,
    misses: c.requests - c.hits,
    missRatio: (c.requests - c.hits) / c.requests,
    hitBytes: c.hitBytes,
    byteMissRatio: trace.totalBytes === 0 ? 0 : (trace.totalBytes - c.hitBytes) / trace.totalBytes,
    evictions: c.evictions,
    rejected: c.rejected,
    elapsedMs: c.elapsedMs,
  });
  jobs.forEach((job, i) => results.push(describe(job.policy, jobCapacity[i]!, counts[i]!)));
  if (policies.includes(INFINITE)) {
    const infinite = runJob(arrays, { id: -1, policy: INFINITE, capacity: 0, objectMode });
    for (const cap of capacities) results.push(describe(INFINITE, cap, infinite));
  }
  return {
    trace: {
      name: trace.name,
      path: typeof options.trace === 'string' ? options.trace : null,
      requests: trace.length,
      uniqueObjects: trace.uniqueObjects,
      uniqueBytes: trace.uniqueBytes,
      totalBytes: trace.totalBytes,
      unitSizes: trace.unitSizes,
    },
    unit,
    policies,
    capacities,
    results,
    startedAt,
    elapsedMs: performance.now() - started,
    workers,
    node: process.version,
  };
}

function runInline(arrays: TraceArrays, jobs: Job[], total: number, onProgress?: (done: number, total: number) => void): JobCounts[] {
  let finished = 0;
  return jobs.map((job) => {
    const counts = runJob(arrays, job, (done) => onProgress?.(finished + done, total));
    finished += arrays.keys.length;
    return counts;
  });
}

// Workers do not inherit the TypeScript loader the main thread runs under, so each one registers
// tsx before importing the worker module (where tsx is not installed, Node's own type stripping
// has to load it).
const WORKER_URL = new URL('./worker.ts', import.meta.url).href;
function workerBootstrap(): string {
  let tsx: string | undefined;
  try {
    tsx = import.meta.resolve('tsx/esm/api');
  } catch {
    tsx = undefined;
  }
  return tsx
    ? `import(${JSON.stringify(tsx)}).then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL)}); })`
    : `import(${JSON.stringify(WORKER_URL)})`;
}

/** Reads a trace file; a file that cannot be opened is bad input, named as such. */
async function openTrace(file: string): Promise<Trace> {
  try {
    return await readTrace(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new SimulationInputError(`trace file "${file}" does not exist`);
    if (code === 'EISDIR') throw new SimulationInputError(`trace "${file}" is a directory, not a CSV file`);
    if (code === 'EACCES' || code === 'EPERM') throw new SimulationInputError(`trace file "${file}" cannot be read (permission denied)`);
    throw error;
  }
}

/** Copies a typed array into shared memory so workers read it without a copy each. */
function shared<T extends Int32Array | Float64Array>(array: T): T {
  const Ctor = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new Ctor(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

/**
 * Runs the jobs on `workerCount` lanes. Each policy gets a fresh worker thread for all its
 * capacities: V8 specialises a policy's code only while one policy class runs through it, and
 * replaying several classes in one thread makes every call site generic (measured 4-5 times
 * slower for SIEVE), which costs far more than starting a worker per policy.
 */
async function runInWorkers(
  arrays: TraceArrays,
  jobs: Job[],
  workerCount: number,
  total: number,
  onProgress?: (done: number, total: number) => void,
): Promise<JobCounts[]> {
  const data: TraceArrays = { keys: shared(arrays.keys), sizes: shared(arrays.sizes), keyUniverse: arrays.keyUniverse, ...(arrays.next ? { next: shared(arrays.next) } : {}) };
  const groups = [...groupByPolicy(jobs).values()];
  const results: JobCounts[] = new Array(jobs.length);
  const progress = new Float64Array(jobs.length);
  let reported = 0;
  const onJobProgress = (id: number, done: number) => {
    reported += done - progress[id]!;
    progress[id] = done;
    onProgress?.(reported, total);
  };
  const bootstrap = workerBootstrap();
  const live = new Set<Worker>();
  let nextGroup = 0;
  const lane = async () => {
    while (nextGroup < groups.length) {
      const group = groups[nextGroup++]!;
      const worker = new Worker(bootstrap, { eval: true, workerData: data });
      live.add(worker);
      try {
        for (const job of group) results[job.id] = await runOnWorker(worker, job, onJobProgress);
      } finally {
        live.delete(worker);
        await worker.terminate();
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(workerCount, groups.length) }, lane));
  } finally {
    await Promise.all([...live].map((w) => w.terminate()));
  }
  return results;
}

function groupByPolicy(jobs: Job[]): Map<string, Job[]> {
  const groups = new Map<string, Job[]>();
  for (const job of jobs) {
    const group = groups.get(job.policy);
    if (group) group.push(job);
    else groups.set(job.policy, [job]);
  }
  return groups;
}

interface WorkerMessage {
  type: 'progress' | 'result' | 'error';
  id: number;
  done?: number;
  counts?: JobCounts;
  message?: string;
}

/** Hands one job to a worker and waits for its result. */
function runOnWorker(worker: Worker, job: Job, onProgress: (id: number, done: number) => void): Promise<JobCounts> {
  return new Promise<JobCounts>((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (message: WorkerMessage) => {
      if (message.id !== job.id) return;
      if (message.type === 'progress') {
        onProgress(job.id, message.done!);
        return;
      }
      cleanup();
      if (message.type === 'result') resolve(message.counts!);
      else reject(new Error(`simulation job ${job.policy}@${job.capacity} failed: ${message.message}`));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onExit = (code: number) => {
      cleanup();
      reject(new Error(`simulator worker exited with code ${code} during ${job.policy}@${job.capacity}`));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    worker.postMessage(job);
  });
}
