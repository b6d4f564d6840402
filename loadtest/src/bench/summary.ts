// The bench's arithmetic: medians with their min-max over rounds, and ratios to a baseline proxy
// taken round by round (interleaved rounds are paired: the same machine state for every proxy).

export interface Spread {
  /** Number of rounds that produced a value. */
  n: number;
  median: number;
  min: number;
  max: number;
}

/** Median (mean of the middle two for an even count); NaN for no values. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median and min-max of the finite values (failed rounds are NaN and left out). */
export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { n: 0, median: NaN, min: NaN, max: NaN };
  return { n: finite.length, median: median(finite), min: Math.min(...finite), max: Math.max(...finite) };
}

/**
 * Per-round ratios `value[r] / baseline[r]`, for the rounds where both are finite and the baseline
 * is not zero. Pairing by round cancels drift that hits every proxy in that round alike.
 */
export function pairedRatios(values: readonly number[], baseline: readonly number[]): number[] {
  const ratios: number[] = [];
  for (let r = 0; r < Math.min(values.length, baseline.length); r++) {
    const v = values[r]!;
    const b = baseline[r]!;
    if (Number.isFinite(v) && Number.isFinite(b) && b !== 0) ratios.push(v / b);
  }
  return ratios;
}

/** `items` rotated left by `round` places: round r starts with the r-th item, so no proxy is always first. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  if (items.length === 0) return [];
  const k = ((round % items.length) + items.length) % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}
