// The lab's seeded randomness: one PRNG for catalogue sizes, fault draws, workloads and the
// balancer's random choices, and the workload samplers built on it, so the same seed reproduces a
// run (the same request stream) on any machine.

/** mulberry32 (Tommy Ettinger): a tiny, fast 32-bit PRNG with good statistical quality; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Zipf(alpha) over ranks 0..n-1 (rank 0 most popular), sampled by inverting a precomputed CDF
 * with binary search: O(n) memory once, O(log n) per sample, exact for any alpha >= 0.
 */
export function zipfSampler(n: number, alpha: number, random: () => number): () => number {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipf: n must be a positive integer, got ${n}`);
  if (!(alpha >= 0)) throw new RangeError(`zipf: alpha must be >= 0, got ${alpha}`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) {
    sum += 1 / Math.pow(i + 1, alpha);
    cdf[i] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = random();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < u) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/**
 * A fixed, seeded permutation of 0..n-1, so popularity rank r maps to object id permutation[r]:
 * popular objects are spread over the catalogue instead of being ids 0, 1, 2...
 */
export function permutation(n: number, random: () => number): Uint32Array {
  const ids = new Uint32Array(n);
  for (let i = 0; i < n; i++) ids[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = ids[i]!;
    ids[i] = ids[j]!;
    ids[j] = tmp;
  }
  return ids;
}
