// Fault injection: latency, an error rate and "down", set from config and changed at runtime
// through PUT /_admin/faults. Draws come from seeded PRNGs so a run with the same seed and the same
// request order fails the same requests.
import { z } from 'zod';

export interface Faults {
  /** Fixed delay before every catalogue response, ms. */
  latencyMs: number;
  /** Extra delay drawn uniformly from the integers 0..jitterMs, ms. */
  jitterMs: number;
  /** Fraction (0..1) of catalogue requests answered 500. */
  errorRate: number;
  /** When true every catalogue request is answered 503. */
  down: boolean;
}

const delay = z.number().int().min(0).max(600_000);

/** Body of PUT /_admin/faults: any subset of the fields; unknown fields are rejected. */
export const faultsPatchSchema = z.strictObject({
  latencyMs: delay.optional(),
  jitterMs: delay.optional(),
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
      // No draw when there is no jitter: changing the jitter knob is the only thing that moves it.
      const jitter = faults.jitterMs > 0 ? Math.floor(random.jitter() * (faults.jitterMs + 1)) : 0;
      return faults.latencyMs + jitter;
    },
    drawError() {
      return faults.errorRate > 0 && random.error() < faults.errorRate;
    },
    isDown: () => faults.down,
  };
}
