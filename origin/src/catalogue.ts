// The synthetic catalogue: every property of object `id` is a pure function of (seed, id), so any
// process (origin, simulator, load generator) can recompute it without holding the catalogue.
//
// Sizes follow the hybrid model of web object sizes from SURGE (Barford & Crovella, 1998): a
// lognormal body with a Pareto tail, here mixed by a fixed tail fraction and clamped to [min, max].
import { mulberry32 } from '@cdn-lab/service-kit';

/** Parameters of the catalogue; the origin builds one from its config (see `catalogueSpecOf`). */
export interface CatalogueSpec {
  /** Object ids are 0..objects-1. */
  objects: number;
  /** Unsigned 32-bit seed; a different seed is a different catalogue. */
  seed: number;
  /** Median of the lognormal body, bytes. */
  medianBytes: number;
  /** Shape (standard deviation of ln size) of the lognormal body. */
  sigma: number;
  /** Fraction of objects drawn from the Pareto tail instead of the body (0..1). */
  tailFraction: number;
  /** Scale (smallest value) of the Pareto tail, bytes. */
  tailMinBytes: number;
  /** Shape of the Pareto tail; smaller is heavier (1 < alpha < 2 is typical for the web). */
  tailAlpha: number;
  /** Every size is clamped to [minBytes, maxBytes]. */
  minBytes: number;
  maxBytes: number;
}

// Stream tags keep the draws for different properties of one id independent of each other.
const STREAM_SIZE = 0x51_7e;
const STREAM_BODY = 0xb0_d7;
const STREAM_MTIME = 0x7_13e;

/** splitmix32's output function (a 32-bit finaliser): a well-mixed hash of one 32-bit word. */
export function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/** Hashes a short list of 32-bit words into one (each word is mixed in turn). */
export function hashWords(...words: number[]): number {
  let h = 0;
  for (const word of words) h = mix32(h ^ mix32(word >>> 0));
  return h;
}

/** FNV-1a of a string's UTF-16 code units, for mixing names (e.g. an origin id) into seeds. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The independent random stream for one property of one object. */
function streamOf(spec: CatalogueSpec, id: number, tag: number): () => number {
  return mulberry32(hashWords(spec.seed, id, tag));
}

/** Whether `id` names an object of the catalogue. */
export function inCatalogue(spec: CatalogueSpec, id: number): boolean {
  return Number.isInteger(id) && id >= 0 && id < spec.objects;
}

/** Size in bytes of object `id`: a pure function of (spec, id). */
export function objectSize(spec: CatalogueSpec, id: number): number {
  const random = streamOf(spec, id, STREAM_SIZE);
  // 1 - random() is in (0, 1], so logarithms and powers below stay finite.
  let size: number;
  if (random() < spec.tailFraction) {
    size = spec.tailMinBytes / Math.pow(1 - random(), 1 / spec.tailAlpha);
  } else {
    // Box-Muller: one standard normal draw from two uniforms.
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    size = spec.medianBytes * Math.exp(spec.sigma * normal);
  }
  return Math.min(spec.maxBytes, Math.max(spec.minBytes, Math.round(size)));
}

/** Length of the pattern a body repeats: long enough not to look constant, short to generate. */
export const BODY_PATTERN_BYTES = 256;

/**
 * The bytes of object `id`: a pseudo-random pattern seeded by (seed, id), repeated to the object's
 * size. Cheap to generate (one small fill) and the same in every process.
 */
export function objectBody(spec: CatalogueSpec, id: number, size = objectSize(spec, id)): Buffer {
  const random = streamOf(spec, id, STREAM_BODY);
  const pattern = Buffer.allocUnsafe(BODY_PATTERN_BYTES);
  for (let i = 0; i < BODY_PATTERN_BYTES; i += 4) pattern.writeUInt32LE(Math.floor(random() * 4294967296), i);
  const body = Buffer.allocUnsafe(size);
  if (size > 0) body.fill(pattern);
  return body;
}

/**
 * Strong entity tag of object `id`. The body is a function of (seed, id, size), so those three
 * identify the representation; a catalogue with other size knobs gets other tags.
 */
export function objectEtag(spec: CatalogueSpec, id: number, size = objectSize(spec, id)): string {
  return `"${spec.seed.toString(36)}-${id.toString(36)}-${size.toString(36)}"`;
}

/** The catalogue's objects were all "modified" within the year before this instant. */
export const CATALOGUE_EPOCH_MS = Date.UTC(2025, 0, 1);
const YEAR_S = 365 * 24 * 3600;

/** Last-Modified of object `id`, whole seconds (HTTP dates have no sub-second part). */
export function objectLastModified(spec: CatalogueSpec, id: number): Date {
  const offsetS = Math.floor(streamOf(spec, id, STREAM_MTIME)() * YEAR_S);
  return new Date(CATALOGUE_EPOCH_MS - offsetS * 1000);
}

/** Everything the origin needs to answer for one object, computed once per request. */
export interface ObjectMeta {
  id: number;
  size: number;
  etag: string;
  lastModified: Date;
  /** `lastModified` formatted as an HTTP date (RFC 9110 §5.6.7). */
  lastModifiedHttp: string;
}

/** `size` overrides the catalogue's size (trace replay asks for the trace's sizes). */
export function objectMeta(spec: CatalogueSpec, id: number, size = objectSize(spec, id)): ObjectMeta {
  const lastModified = objectLastModified(spec, id);
  return { id, size, etag: objectEtag(spec, id, size), lastModified, lastModifiedHttp: lastModified.toUTCString() };
}
