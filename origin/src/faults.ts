// Fault injection: latency, an error rate and "down", set from config and changed at runtime
// through PUT /_admin/faults. Draws come from seeded PRNGs so a run with the same seed and the same
// request order fails the same requests.
import { z } from 'zod';
import { drawLatencyMs, latencyDistributionSchema, type LatencyDistribution } from './latency.ts';

export interface Faults {
  /** How each catalogue response's delay is drawn (see latency.ts). */
  latencyDistribution: LatencyDistribution;
  /** Base delay before every catalogue response, ms (its meaning per distribution: latency.ts). */
  latencyMs: number;
  /** uniform: extra delay drawn from the integers 0..jitterMs; normal: the standard deviation, ms. */
  jitterMs: number;
  /** lognormal sigma. */
  latencySigma: number;
  /** pareto shape. */
  latencyParetoAlpha: number;
  /** Cap on any one delay, ms. */
  latencyMaxMs: number;
  /** Fraction (0..1) of catalogue requests answered 500. */
  errorRate: number;
  /** When true every catalogue request is answered 503. */
  down: boolean;
}

const delay = z.number().int().min(0).max(600_000);

/** Body of PUT /_admin/faults: any subset of the fields; unknown fields are rejected. */
export const faultsPatchSchema = z.strictObject({
  latencyDistribution: latencyDistributionSchema.optional(),
  latencyMs: delay.optional(),
  jitterMs: delay.optional(),
  latencySigma: z.number().min(0).max(5).optional(),
  latencyParetoAlpha: z.number().min(0.1).max(20).optional(),
  latencyMaxMs: delay.optional(),
  errorRate: z.number().min(0).max(1).optional(),
  down: z.boolean().optional(),
});
export type FaultsPatch = z.output<typeof faultsPatchSchema>;

export interface FaultRandom {
  /** Uniform [0, 1) for the latency jitter. */
  jitter: () => number;
  /** Uniform [0, 1) for the error-rate draw (a separate stream, so jitter does not shift errors). */
  error: () => number;
}

export interface FaultState {
  /** A copy of the current faults. */
  current(): Faults;
  /** Applies the given fields and returns the result. */
  update(patch: FaultsPatch): Faults;
  /** Back to the faults the origin started with. */
  reset(): Faults;
  /** This request's delay in ms (0 when no latency is configured). */
  drawDelayMs(): number;
  /** Whether this request gets an injected 500. */
  drawError(): boolean;
  isDown(): boolean;
}

export function createFaultState(initial: Faults, random: FaultRandom): FaultState {
  let faults = { ...initial };
  return {
    current: () => ({ ...faults }),
    update(patch) {
      const defined = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
      faults = { ...faults, ...defined };
      return { ...faults };
    },
    reset() {
      faults = { ...initial };
      return { ...faults };
    },
    drawDelayMs() {
      return drawLatencyMs(
        {
          distribution: faults.latencyDistribution,
          latencyMs: faults.latencyMs,
          jitterMs: faults.jitterMs,
          sigma: faults.latencySigma,
          paretoAlpha: faults.latencyParetoAlpha,
          maxMs: faults.latencyMaxMs,
        },
        random.jitter,
      );
    },
    drawError() {
      return faults.errorRate > 0 && random.error() < faults.errorRate;
    },
    isDown: () => faults.down,
  };
}
