// Origin latency models. Real origins are not constant: a normal spread around a mean, a lognormal
// body (most requests near the median, some much slower) or a Pareto tail (a few very slow ones)
// each change how much a cache hit saves a client, and the lab compares strategies under them.
import { z } from 'zod';

export const LATENCY_DISTRIBUTIONS = ['uniform', 'normal', 'lognormal', 'pareto'] as const;
export type LatencyDistribution = (typeof LATENCY_DISTRIBUTIONS)[number];

export interface LatencyModel {
  distribution: LatencyDistribution;
  /** uniform: the minimum; normal: the mean; lognormal: the median; pareto: the minimum (scale). */
  latencyMs: number;
  /** uniform: width of the added uniform jitter; normal: the standard deviation. */
  jitterMs: number;
  /** lognormal: sigma of the underlying normal (0.5 puts p99 at about 3.2x the median). */
  sigma: number;
  /** pareto: shape alpha (smaller is heavier; 2 puts p99 at 10x the minimum). */
  paretoAlpha: number;
  /** Every draw is capped here, so a tail never stalls a run. */
  maxMs: number;
}

export const latencyDistributionSchema = z.enum(LATENCY_DISTRIBUTIONS, {
  error: (issue) => `unknown latency distribution "${String(issue.input)}"; valid: ${LATENCY_DISTRIBUTIONS.join(', ')}`,
});

/**
 * Draws one delay in ms from the model, using `random` (uniform [0, 1)) for every draw so a seeded
 * generator reproduces the same delays. Fixed latency is `uniform` with zero jitter (no draw).
 */
export function drawLatencyMs(model: LatencyModel, random: () => number): number {
  const { latencyMs, jitterMs, maxMs } = model;
  let ms: number;
  switch (model.distribution) {
    case 'uniform':
      ms = jitterMs > 0 ? latencyMs + Math.floor(random() * (jitterMs + 1)) : latencyMs;
      break;
    case 'normal':
      ms = jitterMs > 0 ? latencyMs + jitterMs * standardNormal(random) : latencyMs;
      break;
    case 'lognormal':
      ms = latencyMs * Math.exp(model.sigma * standardNormal(random));
      break;
    case 'pareto':
      // Inverse CDF: x_m / U^(1/alpha), with U in (0, 1].
      ms = latencyMs / Math.pow(1 - random(), 1 / model.paretoAlpha);
      break;
  }
  return Math.min(maxMs, Math.max(0, Math.round(ms)));
}

/** Box-Muller: one standard normal from two uniforms. */
function standardNormal(random: () => number): number {
  const u = 1 - random(); // (0, 1], so the log is finite
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
