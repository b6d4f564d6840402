// A comparison file names a base topology, the variants (edits to it), the workload and the timing.
// Variants are data: changing a strategy never means changing code.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatIssues } from '@cdn-lab/service-kit';
import { parseTopology, type Topology, type TopologyInput } from '@cdn-lab/infra/topology';
import { parseDurationMs } from '@cdn-lab/infra/units';
import path from 'node:path';
import { meanObjectBytes } from './live-vs-sim.ts';
import { catalogueIdsNeeded, loadTraceWorkload, WorkloadSchema, type WorkloadSpec } from './workload.ts';

const VariantSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40 characters'),
    topology: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

/**
 * How the warm-up ends. `steady` (the default): in windows of requests until every edge's cache is
 * full (or stopped growing: the working set fits) and the hit ratio has stopped rising, capped.
 * A request count: exactly that many. A duration: time-based, so how much it warms depends on how
 * fast the machine is (throughput-only runs).
 */
export type WarmupPlan =
  | { kind: 'steady'; windowRequests: number; maxRequests: number }
  | { kind: 'requests'; requests: number }
  | { kind: 'time'; ms: number };
/** The measured phase: a number of requests (the default), or a duration (throughput-only runs). */
export type MeasurePlan = { kind: 'requests'; requests: number } | { kind: 'time'; ms: number };
/**
 * Closed loop: `connections` clients each send, wait for the answer, send again (throughput).
 * Open loop: requests are sent at a constant `rate` whatever the answers do, and latency is timed
 * from each request's intended send time, so a slow variant's queueing shows in its percentiles.
 */
export type LoadPlan = { mode: 'closed' } | { mode: 'open'; rate: number };

export const DEFAULT_MEASURED_REQUESTS = 20_000;
export const DEFAULT_WARMUP_MAX_REQUESTS = 200_000;
export const DEFAULT_WARMUP_WINDOW = 2_000;
/** Below this a hit ratio's standard error can reach ±1.6 points (p = 0.5): too short to compare. */
export const MIN_MEASURED_REQUESTS = 1_000;

const requestsOrDuration = (what: string) =>
  z.union([z.number(), z.string()]).transform((value, ctx): { kind: 'requests'; requests: number } | { kind: 'time'; ms: number } => {
    if (typeof value === 'number') {
      if (Number.isInteger(value) && value >= 0) return { kind: 'requests', requests: value };
    } else if (/^\s*\d+\s*$/.test(value)) {
      return { kind: 'requests', requests: Number(value) };
    } else {
      const ms = parseDurationMs(value);
      if (ms !== undefined && ms > 0) return { kind: 'time', ms };
    }
    ctx.addIssue({ code: 'custom', message: `expected ${what}: a number of requests like 20000, or a duration like "10s" (time-based, throughput only), got ${JSON.stringify(value)}` });
    return z.NEVER;
  });

const WarmupSchema = z.union([z.literal('steady'), requestsOrDuration('"steady", a number of requests or a duration')]);
const LoadSchema = z.union([
  z.literal('closed'),
  z.object({ rate: z.number().positive().max(1_000_000) }).strict(),
]);

export const ComparisonSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40 characters'),
    description: z.string().default(''),
    base: z.record(z.string(), z.unknown()).default({}),
    workload: WorkloadSchema.default(WorkloadSchema.parse({ kind: 'zipf' })),
    warmup: WarmupSchema.default('steady'),
    /** The steady warm-up's request cap and window. */
    warmupMaxRequests: z.number().int().min(1).default(DEFAULT_WARMUP_MAX_REQUESTS),
    warmupWindow: z.number().int().min(100).default(DEFAULT_WARMUP_WINDOW),
    measure: requestsOrDuration('the measured phase').default({ kind: 'requests', requests: DEFAULT_MEASURED_REQUESTS }),
    load: LoadSchema.default('closed'),
    connections: z.number().int().min(1).max(1000).default(32),
    /** Fresh-lab runs per variant, each with its own request streams. */
    repetitions: z.number().int().min(1).max(20).default(3),
    variants: z.array(VariantSchema).min(1, 'at least one variant is needed'),
  })
  .strict();

export interface Comparison {
  name: string;
  description: string;
  workload: WorkloadSpec;
  warmup: WarmupPlan;
  measure: MeasurePlan;
  load: LoadPlan;
  connections: number;
  repetitions: number;
  variants: { name: string; topology: Topology }[];
}

/** One line saying how a run is phased and loaded, for progress lines and reports. */
export function describePhases(c: Pick<Comparison, 'warmup' | 'measure' | 'load' | 'connections'>): string {
  const warmup =
    c.warmup.kind === 'steady'
      ? `warm-up to steady state (windows of ${c.warmup.windowRequests.toLocaleString('en-US')}, at most ${c.warmup.maxRequests.toLocaleString('en-US')} requests)`
      : c.warmup.kind === 'requests'
        ? `${c.warmup.requests.toLocaleString('en-US')}-request warm-up`
        : `${c.warmup.ms / 1000}s warm-up (time-based)`;
  const measure = c.measure.kind === 'requests' ? `${c.measure.requests.toLocaleString('en-US')} measured requests` : `${c.measure.ms / 1000}s measured (time-based: throughput only)`;
  const load = c.load.mode === 'open' ? `open loop at ${c.load.rate.toLocaleString('en-US')} req/s (at most ${c.connections} connections)` : `closed loop, ${c.connections} connections`;
  return `${warmup}, ${measure}, ${load}`;
}

/**
 * Settings that would make a comparison say nothing, named before anything starts: a measured
 * phase too short to resolve a hit ratio, a warm-up cap below what fills the smallest cache.
 */
export function phaseIssues(c: Comparison, meanObjectBytes: (topology: Topology) => number): string[] {
  const issues: string[] = [];
  if (c.measure.kind === 'requests' && c.measure.requests < MIN_MEASURED_REQUESTS) {
    issues.push(`measure: ${c.measure.requests} requests is too short to say anything (a hit ratio over fewer than ${MIN_MEASURED_REQUESTS.toLocaleString('en-US')} requests has a standard error above 1.6 points); use at least ${MIN_MEASURED_REQUESTS}`);
  }
  if (c.warmup.kind === 'steady') {
    for (const variant of c.variants) {
      const { cacheBytes, count } = variant.topology.edges;
      const mean = meanObjectBytes(variant.topology);
      // What fills the caches: their budget in objects, or every object the workload has (it fits).
      const distinct = c.workload.kind === 'one-hit-wonders' || c.workload.kind === 'scan' ? Infinity : catalogueIdsNeeded(c.workload, 0);
      const fill = Math.ceil(Math.min((cacheBytes / mean) * count, distinct));
      if (c.warmup.maxRequests < fill) {
        issues.push(
          `warmupMaxRequests: ${c.warmup.maxRequests} is below what fills variant "${variant.name}"'s caches (about ${fill.toLocaleString('en-US')} objects: ${Math.round(mean).toLocaleString('en-US')} B on average, ${count} edge(s)); raise it to at least ${fill}`,
        );
      }
    }
  }
  return issues;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Deep-merges `patch` onto `base` (objects merge, everything else replaces). */
export function mergeDeep(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeDeep(out[key], value) : value;
  }
  return out;
}

/** Validates a comparison; every error names its field (e.g. `variants[1].topology.edges.policy`). */
export function parseComparison(input: unknown, source = 'comparison'): Comparison {
  const result = ComparisonSchema.safeParse(input);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  const spec = result.data;
  const issues: string[] = [];
  const names = new Set<string>();
  const variants = spec.variants.flatMap((variant, i) => {
    if (names.has(variant.name)) issues.push(`variants.${i}.name: duplicate variant name "${variant.name}"`);
    names.add(variant.name);
    try {
      const merged = mergeDeep(spec.base, variant.topology) as TopologyInput;
      return [{ name: variant.name, topology: parseTopology({ ...merged, name: variant.name }, `variants.${i}.topology`) }];
    } catch (error) {
      if (error instanceof ConfigError) issues.push(...error.issues.map((issue) => `variants.${i}.topology.${issue}`));
      else throw error;
      return [];
    }
  });
  // (A trace's needs are known once it is read: loadComparison checks them.)
  const workload = spec.workload;
  if (workload.kind !== 'trace') {
    const needed = workload.kind === 'scan' || workload.kind === 'one-hit-wonders' ? workload.objects + 1 : workload.objects;
    for (const variant of variants) {
      if (needed > variant.topology.origin.objects) {
        issues.push(
          `workload.objects: the workload needs ${needed} catalogue objects${needed > workload.objects ? ' (its popular set plus cold ids)' : ''} but variant "${variant.name}" has an origin catalogue of ${variant.topology.origin.objects}`,
        );
      }
    }
  }
  if (issues.length) throw new ConfigError(source, issues);
  const warmup: WarmupPlan =
    spec.warmup === 'steady' ? { kind: 'steady', windowRequests: spec.warmupWindow, maxRequests: spec.warmupMaxRequests } : spec.warmup;
  const load: LoadPlan = spec.load === 'closed' ? { mode: 'closed' } : { mode: 'open', rate: spec.load.rate };
  return {
    name: spec.name,
    description: spec.description,
    workload: spec.workload,
    warmup,
    measure: spec.measure,
    load,
    connections: spec.connections,
    repetitions: spec.repetitions,
    variants,
  };
}

/** Reads a YAML or JSON file (by extension); an unreadable or malformed file is a ConfigError naming it. */
export async function readDataFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new ConfigError(file, [`cannot read: ${(error as Error).message}`]);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, [`not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(error as Error).message}`]);
  }
}

/**
 * Reads, validates and checks a comparison file. `overrides` (from command-line flags) replace the
 * file's top-level fields before validation, so they are checked the same way.
 */
export async function loadComparison(file: string, overrides: Record<string, unknown> = {}): Promise<Comparison> {
  const data = await readDataFile(file);
  const comparison = parseComparison(isPlainObject(data) ? { ...data, ...overrides } : data, file);
  if (comparison.workload.kind === 'trace') {
    try {
      comparison.workload = await loadTraceWorkload(comparison.workload, path.dirname(file));
    } catch (error) {
      throw new ConfigError(file, [`workload.file: ${(error as Error).message}`]);
    }
    const keys = catalogueIdsNeeded(comparison.workload, 0);
    const small = comparison.variants.filter((v) => v.topology.origin.objects < keys);
    if (small.length) {
      throw new ConfigError(
        file,
        small.map((v) => `variants: "${v.name}" has an origin catalogue of ${v.topology.origin.objects} objects; the trace has ${keys} distinct keys (set origin.objects >= ${keys})`),
      );
    }
  }
  const issues = phaseIssues(comparison, (topology) => meanObjectBytes(topology, comparison.workload));
  if (issues.length) throw new ConfigError(file, issues);
  return comparison;
}
