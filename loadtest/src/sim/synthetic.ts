// Synthetic request traces with the features that separate eviction policies: Zipf popularity over
// a catalogue, heavy-tailed (bounded Pareto) object sizes, popularity shifts (the ranking moves
// over time), sequential scans (a burst of objects requested once each in a row) and one-hit
// wonders (objects requested exactly once). Seeded: the same options give the same trace anywhere.
import { mulberry32 } from '@cdn-lab/service-kit';
import { permutation, zipfSampler } from '@cdn-lab/service-kit';
import { traceFromArrays, type Trace } from './trace.ts';

export interface SyntheticOptions {
  requests: number;
  /** Catalogue objects with Zipf popularity. */
  objects: number;
  /** Zipf exponent (0.6-1.0 is typical of web and CDN traces). */
  alpha: number;
  seed: number;
  /** Sizes: 'unit' (every object 1 byte: object capacity) or a bounded Pareto. */
  sizes: 'unit' | { minBytes: number; maxBytes: number; shape: number };
  /** Every this many requests the popularity ranking rotates by `shiftFraction` of the catalogue (0: never). */
  shiftEvery: number;
  shiftFraction: number;
  /** Every this many requests a scan of `scanLength` consecutive catalogue objects is inserted (0: never). */
  scanEvery: number;
  scanLength: number;
  /** Share of requests that go to a brand-new object never requested again. */
  oneHitWonders: number;
}

export const DEFAULT_SYNTHETIC: SyntheticOptions = {
  requests: 1_000_000,
  objects: 100_000,
  alpha: 0.9,
  seed: 1,
  sizes: { minBytes: 1_000, maxBytes: 50_000_000, shape: 1.2 },
  shiftEvery: 0,
  shiftFraction: 0.1,
  scanEvery: 0,
  scanLength: 1_000,
  oneHitWonders: 0,
};

/** Reads `key=value,...` (e.g. `requests=1e6,alpha=0.8,sizes=unit,wonders=0.2`) over the defaults. */
export function parseSyntheticSpec(spec: string): SyntheticOptions {
  const options: SyntheticOptions = { ...DEFAULT_SYNTHETIC };
  const names: Record<string, keyof SyntheticOptions> = {
    requests: 'requests',
    objects: 'objects',
    alpha: 'alpha',
    seed: 'seed',
    'shift-every': 'shiftEvery',
    'shift-fraction': 'shiftFraction',
    'scan-every': 'scanEvery',
    'scan-length': 'scanLength',
    wonders: 'oneHitWonders',
  };
  for (const part of spec.split(',').filter(Boolean)) {
    const [name, value] = part.split('=').map((s) => s.trim());
    if (name === 'sizes') {
      if (value === 'unit') options.sizes = 'unit';
      else if (value === 'pareto') options.sizes = DEFAULT_SYNTHETIC.sizes;
      else throw new RangeError(`synthetic: sizes must be unit or pareto, got "${value}"`);
      continue;
    }
    const field = name === undefined ? undefined : names[name];
    const number = Number(value);
    if (!field || value === undefined || value === '' || !Number.isFinite(number)) {
      throw new RangeError(`synthetic: cannot read "${part}"; expected key=number with key in ${[...Object.keys(names), 'sizes'].join(', ')}`);
    }
    (options as unknown as Record<string, number>)[field] = number;
  }
  validate(options);
  return options;
}

function validate(o: SyntheticOptions): void {
  const positiveInt = (name: string, v: number) => {
    if (!Number.isInteger(v) || v <= 0) throw new RangeError(`synthetic: ${name} must be a positive integer, got ${v}`);
  };
  positiveInt('requests', o.requests);
  positiveInt('objects', o.objects);
  if (!(o.alpha >= 0)) throw new RangeError(`synthetic: alpha must be >= 0, got ${o.alpha}`);
  if (!(o.oneHitWonders >= 0 && o.oneHitWonders < 1)) throw new RangeError(`synthetic: wonders must be in [0, 1), got ${o.oneHitWonders}`);
  if (!(o.shiftFraction >= 0 && o.shiftFraction <= 1)) throw new RangeError(`synthetic: shift-fraction must be in [0, 1], got ${o.shiftFraction}`);
  if (!Number.isInteger(o.shiftEvery) || o.shiftEvery < 0) throw new RangeError(`synthetic: shift-every must be a non-negative integer`);
  if (!Number.isInteger(o.scanEvery) || o.scanEvery < 0) throw new RangeError(`synthetic: scan-every must be a non-negative integer`);
  if (!Number.isInteger(o.scanLength) || o.scanLength < 1) throw new RangeError(`synthetic: scan-length must be a positive integer`);
  if (o.sizes !== 'unit' && !(o.sizes.minBytes >= 1 && o.sizes.maxBytes >= o.sizes.minBytes && o.sizes.shape > 0)) {
    throw new RangeError('synthetic: sizes need 1 <= minBytes <= maxBytes and shape > 0');
  }
}

/** A bounded Pareto sample by inversion; u in [0, 1). */
function boundedPareto(u: number, min: number, max: number, shape: number): number {
  const ratio = Math.pow(min / max, shape);
  return Math.min(max, Math.round(min / Math.pow(1 - u * (1 - ratio), 1 / shape)));
}

export function generateTrace(input: Partial<SyntheticOptions> = {}): Trace {
  const o: SyntheticOptions = { ...DEFAULT_SYNTHETIC, ...input };
  validate(o);
  const random = mulberry32(o.seed);
  const rank = zipfSampler(o.objects, o.alpha, random);
  const objectOfRank = permutation(o.objects, random);
  const sizeRandom = mulberry32(o.seed ^ 0x5bd1e995);
  const sizeOf =
    o.sizes === 'unit'
      ? () => 1
      : ((s) => () => boundedPareto(sizeRandom(), s.minBytes, s.maxBytes, s.shape))(o.sizes);
  const catalogueSizes = new Float64Array(o.objects);
  for (let i = 0; i < o.objects; i++) catalogueSizes[i] = sizeOf();

  const keys = new Int32Array(o.requests);
  const sizes = new Float64Array(o.requests);
  const shiftStep = Math.floor(o.objects * o.shiftFraction);
  let rotation = 0;
  let nextWonder = o.objects;
  let scanLeft = 0;
  let scanAt = 0;
  for (let i = 0; i < o.requests; i++) {
    if (o.shiftEvery > 0 && i > 0 && i % o.shiftEvery === 0) rotation = (rotation + shiftStep) % o.objects;
    if (o.scanEvery > 0 && i > 0 && i % o.scanEvery === 0) {
      scanLeft = o.scanLength;
      scanAt = Math.floor(random() * o.objects);
    }
    let key: number;
    let size: number;
    if (scanLeft > 0) {
      key = scanAt;
      scanAt = (scanAt + 1) % o.objects;
      scanLeft--;
      size = catalogueSizes[key]!;
    } else if (o.oneHitWonders > 0 && random() < o.oneHitWonders) {
      key = nextWonder++;
      size = sizeOf();
    } else {
      key = objectOfRank[(rank() + rotation) % o.objects]!;
      size = catalogueSizes[key]!;
    }
    keys[i] = key;
    sizes[i] = size;
  }
  return traceFromArrays(`synthetic-seed${o.seed}`, keys, sizes);
}

/** The trace as CSV text (`t,key,size`, t = request index), e.g. to commit a small fixture. */
export function traceToCsv(trace: Trace): string {
  const lines = ['t,key,size'];
  for (let i = 0; i < trace.length; i++) lines.push(`${i},${trace.keys[i]},${trace.sizes[i]}`);
  return `${lines.join('\n')}\n`;
}
