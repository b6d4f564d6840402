// Summaries of repeated runs: the mean and an interval that is honest about how many runs there
// were and what the quantity can be.
//  - 1 run: no interval.
//  - 2 runs: the range (min–max); a t interval over two runs is ±12.7 standard errors wide.
//  - 3+ runs: a 95% interval of the mean from Student's t; for quantities that are positive by
//    nature (req/s, latencies, counts) computed on the log scale (a geometric interval), so it
//    never reaches below zero; for ratios clamped to [0, 1], and the summary says it was clamped.

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** What a figure can be: a ratio in [0, 1], or a positive quantity (req/s, ms, counts). */
export type Domain = 'ratio' | 'positive';

export type IntervalMethod = 'none' | 'min-max' | 't' | 't-clamped' | 'log-t';

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  stdev: number;
  min: number;
  max: number;
  /** The interval drawn and printed for the figure (see `method`). */
  low: number;
  high: number;
  method: IntervalMethod;
}

const tQuantile = (df: number) => T_975[df - 1] ?? 1.96;

export function summarize(values: number[], domain: Domain = 'positive'): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, stdev: NaN, min: NaN, max: NaN, low: NaN, high: NaN, method: 'none' };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const stdev = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const base = { n, mean, stdev, min, max };
  if (n === 1) return { ...base, low: mean, high: mean, method: 'none' };
  if (n === 2) return { ...base, low: min, high: max, method: 'min-max' };
  const t = tQuantile(n - 1);
  if (domain === 'positive' && min > 0) {
    const logs = values.map(Math.log);
    const logMean = logs.reduce((a, b) => a + b, 0) / n;
    const logSd = Math.sqrt(logs.reduce((a, v) => a + (v - logMean) ** 2, 0) / (n - 1));
    const half = (t * logSd) / Math.sqrt(n);
    return { ...base, low: Math.exp(logMean - half), high: Math.exp(logMean + half), method: 'log-t' };
  }
  const half = (t * stdev) / Math.sqrt(n);
  const [floor, ceiling] = domain === 'ratio' ? [0, 1] : [0, Infinity];
  const low = Math.max(floor, mean - half);
  const high = Math.min(ceiling, mean + half);
  return { ...base, low, high, method: low !== mean - half || high !== mean + half ? 't-clamped' : 't' };
}

/**
 * Whether two summaries' intervals are disjoint: a difference the runs can resolve. With one run
 * there is no interval, so no difference is resolved.
 */
export function distinct(a: Summary, b: Summary): boolean {
  if (a.method === 'none' || b.method === 'none') return false;
  return a.low > b.high || b.low > a.high;
}

/** Runs that disagree: the spread between the extreme runs exceeds the tolerance (relative to the mean, or absolute). */
export function disagree(s: Summary, relativeTolerance: number, absoluteTolerance = 0): boolean {
  return s.n > 1 && s.max - s.min > Math.max(relativeTolerance * Math.abs(s.mean), absoluteTolerance);
}

/** How a summary's interval was made, in words for a report's notes. */
export const INTERVAL_WORDS: Record<IntervalMethod, string> = {
  none: 'one run: no interval',
  'min-max': 'two runs: the range of the runs',
  t: "95% interval of the mean (Student's t)",
  't-clamped': "95% interval of the mean (Student's t), clamped to what the figure can be",
  'log-t': "95% interval of the mean on the log scale (Student's t; positive by construction)",
};
