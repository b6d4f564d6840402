// A comparison file names a base topology, the variants (edits to it), the workload and the timing.
// Variants are data: changing a strategy never means changing code.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError, formatIssues } from '@cdn-lab/service-kit';
import { parseTopology, type Topology, type TopologyInput } from '@cdn-lab/infra/topology';
import { duration } from '@cdn-lab/infra/units';
import path from 'node:path';
import { catalogueIdsNeeded, loadTraceWorkload, WorkloadSchema, type WorkloadSpec } from './workload.ts';

const VariantSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40 characters'),
    topology: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export const ComparisonSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40 characters'),
    description: z.string().default(''),
    base: z.record(z.string(), z.unknown()).default({}),
    workload: WorkloadSchema.default(WorkloadSchema.parse({ kind: 'zipf' })),
    warmup: duration().default(5000),
    duration: duration().default(15_000),
    connections: z.number().int().min(1).max(1000).default(32),
    /** Fresh-lab runs per variant, each with a different workload seed. */
    repetitions: z.number().int().min(1).max(20).default(3),
    variants: z.array(VariantSchema).min(1, 'at least one variant is needed'),
  })
  .strict();

export interface Comparison {
  name: string;
  description: string;
  workload: WorkloadSpec;
  warmupMs: number;
  durationMs: number;
  connections: number;
  repetitions: number;
  variants: { name: string; topology: Topology }[];
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
  return {
    name: spec.name,
    description: spec.description,
    workload: spec.workload,
    warmupMs: spec.warmup,
    durationMs: spec.duration,
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

export async function loadComparison(file: string): Promise<Comparison> {
  const comparison = parseComparison(await readDataFile(file), file);
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
  return comparison;
}
