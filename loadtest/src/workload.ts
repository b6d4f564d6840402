// Workloads for live runs: a named, seeded distribution over the origin's catalogue that yields
// the object id of every request. The same spec and seed give the same stream everywhere, so a
// live run and the offline simulator can replay identical requests.
import path from 'node:path';
import { z } from 'zod';
import { mulberry32 } from '@cdn-lab/service-kit';
import { permutation, zipfSampler } from '@cdn-lab/service-kit';
import { readTrace, type Trace } from './sim/trace.ts';

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
  z
    .object({
      kind: z.literal('trace'),
      /** A trace CSV (`t,key,size` or `key,size`), relative to the comparison file. */
      file: z.string().min(1),
      /** Requests per second across all connections; absent: as fast as the lab answers. */
      rate: z.number().positive().optional(),
      seed: common.seed,
      pathClass: common.pathClass,
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
 * one-hit wonders walk through (they start right after the popular set and never repeat); for a
 * trace, its distinct keys.
 */
export function catalogueIdsNeeded(spec: WorkloadSpec, requests: number): number {
  switch (spec.kind) {
    case 'trace':
      return loadedTrace(spec).uniqueObjects;
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
  if (spec.kind === 'trace') throw new TypeError('a trace is replayed in order: use requestSource');
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

/** Traces read by `loadTraceWorkload`, by absolute path: read once, replayed by every run. */
const traces = new Map<string, Trace & { keySizes: Float64Array }>();

/** Reads a trace workload's file (once per process); errors name the file and line. */
export async function loadTraceWorkload(spec: Extract<WorkloadSpec, { kind: 'trace' }>, baseDir: string): Promise<Extract<WorkloadSpec, { kind: 'trace' }>> {
  const file = path.resolve(baseDir, spec.file);
  if (!traces.has(file)) {
    const trace = await readTrace(file);
    // Every key has one size in a trace; the origin is asked for it with ?size=.
    const keySizes = new Float64Array(trace.uniqueObjects);
    for (let i = 0; i < trace.length; i++) keySizes[trace.keys[i]!] = trace.sizes[i]!;
    traces.set(file, Object.assign(trace, { keySizes }));
  }
  return { ...spec, file };
}

function loadedTrace(spec: Extract<WorkloadSpec, { kind: 'trace' }>): Trace & { keySizes: Float64Array } {
  const trace = traces.get(spec.file);
  if (!trace) throw new Error(`trace ${spec.file} was not loaded (loadTraceWorkload first)`);
  return trace;
}

/** One request: a catalogue id and, for traces, the size the origin must serve it at. */
export interface RequestSource {
  /** Object ids in request order: warm-up then measurement. */
  warmup: () => number;
  measure: () => number;
  /** The size to ask for (trace replay) or undefined (the catalogue's own size). */
  sizeOf: (id: number) => number | undefined;
  /** The path of an id on the origin (and through the CDN). */
  pathOf: (id: number) => string;
}

/**
 * The requests of run number `run` (its repetition). Synthetic workloads draw warm-up and
 * measurement from two independent streams, different for every run, over the same popularity
 * (which objects are hot, and so their sizes, depend only on the workload's seed): repetitions
 * measure sampling noise, not different catalogues. A trace is replayed in order, the measurement
 * continuing where the warm-up stopped (wrapping at the end); every run replays it from the start.
 */
export function requestSource(spec: WorkloadSpec, catalogueObjects: number, run = 0): RequestSource {
  const prefix = `/${spec.pathClass}/`;
  if (spec.kind === 'trace') {
    const trace = loadedTrace(spec);
    let cursor = 0;
    const next = () => {
      const id = trace.keys[cursor]!;
      cursor = (cursor + 1) % trace.length;
      return id;
    };
    const sizeOf = (id: number) => trace.keySizes[id]!;
    return { warmup: next, measure: next, sizeOf, pathOf: (id) => `${prefix}${id}?size=${sizeOf(id)}` };
  }
  return {
    warmup: idStream(spec, 1 + 2 * run, catalogueObjects),
    measure: idStream(spec, 2 + 2 * run, catalogueObjects),
    sizeOf: () => undefined,
    pathOf: (id) => prefix + id,
  };
}
