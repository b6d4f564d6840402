// Workloads for live runs: a named distribution over the origin's catalogue, producing request paths.
import { z } from 'zod';
import { mulberry32, permutation, zipfSampler } from './random.ts';

export const WorkloadSchema = z
  .object({
    kind: z.literal('zipf').default('zipf'),
    /** Number of distinct objects requested (at most the origin's catalogue). */
    objects: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Zipf skew: 0 is uniform, around 0.8-1.0 is typical of CDN traffic. */
    alpha: z.number().min(0).max(3).default(0.9),
    seed: z.number().int().min(0).default(42),
    /** Path class on the origin: obj (long TTL), short (short TTL), nostore. */
    pathClass: z.enum(['obj', 'short', 'nostore']).default('obj'),
  })
  .strict();

export type WorkloadSpec = z.output<typeof WorkloadSchema>;

/** A deterministic stream of request paths for a workload. */
export function pathStream(spec: WorkloadSpec, seedOffset = 0): () => string {
  const random = mulberry32(spec.seed + seedOffset);
  // The rank-to-id mapping depends only on the workload seed so warm-up and measurement agree on
  // which objects are popular.
  const ids = permutation(spec.objects, mulberry32(spec.seed ^ 0x9e3779b9));
  const sample = zipfSampler(spec.objects, spec.alpha, random);
  const prefix = `/${spec.pathClass}/`;
  return () => prefix + ids[sample()]!;
}
