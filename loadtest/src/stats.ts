// Summaries of repeated runs: mean and a 95% confidence interval from Student's t distribution.

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101,
  2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n - 1). */
  stdev: number;
  /** Half-width of the 95% confidence interval of the mean (0 for a single run). */
  ci95: number;
  min: number;
  max: number;
}

export function summarize(values: number[]): Summary {
  const n = values.length;
  if (n === 0) return { n: 0, mean: NaN, stdev: NaN, ci95: NaN, min: NaN, max: NaN };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const stdev = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  const t = n > 1 ? (T_975[n - 2] ?? 1.96) : 0;
  return { n, mean, stdev, ci95: (t * stdev) / Math.sqrt(n), min: Math.min(...values), max: Math.max(...values) };
}

/** Whether two summaries' 95% intervals are disjoint: a difference the runs can resolve. */
export function distinct(a: Summary, b: Summary): boolean {
  return a.mean - a.ci95 > b.mean + b.ci95 || b.mean - b.ci95 > a.mean + a.ci95;
}

/** Runs that disagree: the spread between the extreme runs exceeds the tolerance (relative to the mean, or absolute). */
export function disagree(s: Summary, relativeTolerance: number, absoluteTolerance = 0): boolean {
  return s.n > 1 && s.max - s.min > Math.max(relativeTolerance * Math.abs(s.mean), absoluteTolerance);
}
