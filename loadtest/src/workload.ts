// Workloads for live runs: a named, seeded distribution over the origin's catalogue that yields
// the object id of every request. The same spec and seed give the same stream everywhere, so a
// live run and the offline simulator can replay identical requests.
import { z } from 'zod';
import { mulberry32, permutation, zipfSampler } from './random.ts';

const common = {
  /** Number of distinct objects in the popular set (ids drawn from the origin's catalogue). */
  objects: z.number().int().min(1).max(10_000_000).default(10_000),
  seed: z.number().int().min(0).default(42),
  /** Path class on the origin: obj (long TTL), short (short TTL), nostore. */
  pathClass: z.enum(['obj', 'short', 'nostore']).default('obj'),
};
/** Zipf skew: 0 is uniform, around 0.7-1.0 is typical of CDN traffic. */
const alpha = z.number().min(0).max(3).default(0.9);

export const WorkloadSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('zipf'), alpha, ...common }).strict(),
  z.object({ kind: z.literal('uniform'), ...common }).strict(),
  z
    .object({
      kind: z.literal('hotset-shift'),
      alpha,
      /** Every this many requests, popularity moves to a new random ranking of the objects. */
      shiftEvery: z.number().int().min(1).default(20_000),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal('scan'),
      alpha,
      /** Every this many requests a sequential scan over cold objects starts... */
      scanEvery: z.number().int().min(1).default(5_000),
      /** ...and requests this many consecutive objects, each once. */
      scanLength: z.number().int().min(1).default(1_000),
      ...common,
    })
    .strict(),
  z
    .object({
      kind: z.literal('one-hit-wonders'),
      alpha,
      /** Share of requests for objects requested once and never again. */
      oneHitFraction: z.number().min(0).max(1).default(0.3),
      ...common,
    })
    .strict(),
]);

export type WorkloadSpec = z.output<typeof WorkloadSchema>;
export type WorkloadInput = z.input<typeof WorkloadSchema>;
export const WORKLOAD_KINDS = WorkloadSchema.options.map((o) => o.shape.kind.value);

export function parseWorkload(input: unknown): WorkloadSpec {
  return WorkloadSchema.parse(input);
}

/**
 * How many catalogue ids a workload may touch: the popular set, plus the cold ids scans and
 * one-hit wonders walk through (they start right after the popular set and never repeat).
 */
export function catalogueIdsNeeded(spec: WorkloadSpec, requests: number): number {
  switch (spec.kind) {
    case 'scan':
      return spec.objects + Math.ceil(requests / spec.scanEvery) * spec.scanLength;
    case 'one-hit-wonders':
      return spec.objects + Math.ceil(requests * spec.oneHitFraction);
    default:
      return spec.objects;
  }
}

/**
 * A deterministic stream of object ids. `stream` picks one of several independent streams with the
 * same popularity (warm-up and measurement use different ones). Cold ids (scans, one-hit wonders)
 * are taken in order from `objects` upward, wrapping within `catalogueObjects`.
 */
export function idStream(spec: WorkloadSpec, stream = 0, catalogueObjects = Number.MAX_SAFE_INTEGER): () => number {
  const random = mulberry32((spec.seed * 1_000_003 + stream) >>> 0);
  // The rank-to-id mapping depends only on the workload seed, so every stream agrees on which
  // objects are popular and a warm-up warms the right ones.
  const rankToId = permutation(spec.objects, mulberry32(spec.seed ^ 0x9e3779b9));
  const coldSpan = Math.max(1, catalogueObjects - spec.objects);
  // Each stream starts its cold ids at a different offset so warm-up never pre-warms them.
  let cold = stream * 1_000_003;
  const nextCold = () => spec.objects + (cold++ % coldSpan);
  switch (spec.kind) {
    case 'uniform':
      return () => rankToId[Math.floor(random() * spec.objects)]!;
    case 'zipf': {
      const sample = zipfSampler(spec.objects, spec.alpha, random);
      return () => rankToId[sample()]!;
    }
    case 'hotset-shift': {
      const sample = zipfSampler(spec.objects, spec.alpha, random);
      const shiftRandom = mulberry32(spec.seed ^ 0x5bd1e995);
      let mapping = rankToId;
      let served = 0;
      return () => {
        if (served > 0 && served % spec.shiftEvery === 0) mapping = permutation(spec.objects, shiftRandom);
        served++;
        return mapping[sample()]!;
      };
    }
    case 'scan': {
      const sample = zipfSampler(spec.objects, spec.alpha, random);
      let served = 0;
      let scanLeft = 0;
      return () => {
        if (served > 0 && served % spec.scanEvery === 0) scanLeft = spec.scanLength;
        served++;
        if (scanLeft > 0) {
          scanLeft--;
          return nextCold();
        }
        return rankToId[sample()]!;
      };
    }
    case 'one-hit-wonders': {
      const sample = zipfSampler(spec.objects, spec.alpha, random);
      return () => (random() < spec.oneHitFraction ? nextCold() : rankToId[sample()]!);
    }
  }
}

/** The same stream as request paths on the origin. */
export function pathStream(spec: WorkloadSpec, stream = 0, catalogueObjects?: number): () => string {
  const next = idStream(spec, stream, catalogueObjects);
  const prefix = `/${spec.pathClass}/`;
  return () => prefix + next();
}
