// One simulation job: a policy at one capacity over the whole trace. Runs in the main thread or
// in a worker (worker.ts); everything it needs is plain typed arrays, shareable between threads.
import { createPolicy } from '@cdn-lab/edge-node/policies/registry';
import type { CachePolicy } from '@cdn-lab/edge-node/policies/types';
import { replayBelady, replayInfinite, type ReplayCounts } from './belady.ts';

export const BELADY = 'belady';
export const INFINITE = 'infinite';

export interface Job {
  id: number;
  policy: string;
  /** Bytes, or objects when `objectMode`. */
  capacity: number;
  /** Object capacity: every request weighs 1 (byte ratios still use the real sizes). */
  objectMode: boolean;
}

export interface TraceArrays {
  keys: Int32Array;
  sizes: Float64Array;
  /** Every key id is below this (policies index ids with an array). */
  keyUniverse: number;
  /** Next-use indexes, present when a Belady job is run. */
  next?: Int32Array;
}

export interface JobCounts extends ReplayCounts {
  elapsedMs: number;
}

const PROGRESS_EVERY = 1 << 18;

export function runJob(trace: TraceArrays, job: Job, onProgress?: (done: number) => void): JobCounts {
  const started = performance.now();
  let counts: ReplayCounts;
  if (job.policy === INFINITE) counts = replayInfinite(trace.keys, trace.sizes);
  else if (job.policy === BELADY) {
    if (!trace.next) throw new Error('belady needs next-use indexes');
    counts = replayBelady(trace.keys, trace.sizes, trace.next, job.capacity, job.objectMode, onProgress);
  } else counts = replayPolicy(trace, job, onProgress);
  return { ...counts, elapsedMs: performance.now() - started };
}

function replayPolicy(trace: TraceArrays, job: Job, onProgress?: (done: number) => void): ReplayCounts {
  // In object mode every entry weighs 1, so the byte budget is also the object cap; saying so lets
  // a policy that sizes structures by object count (W-TinyLFU's sketch) do it as for an object cache.
  const policy = createPolicy<number, undefined>(job.policy, {
    capacityBytes: job.capacity,
    keyUniverse: trace.keyUniverse,
    ...(job.objectMode ? { maxObjects: job.capacity } : {}),
  });
  const access = accessor(policy);
  const { keys, sizes } = trace;
  const n = keys.length;
  let hitBytes = 0;
  for (let start = 0; start < n; start += PROGRESS_EVERY) {
    const end = Math.min(n, start + PROGRESS_EVERY);
    if (job.objectMode) {
      for (let i = start; i < end; i++) if (access(keys[i]!, 1)) hitBytes += sizes[i]!;
    } else {
      for (let i = start; i < end; i++) {
        const size = sizes[i]!;
        if (access(keys[i]!, size)) hitBytes += size;
      }
    }
    onProgress?.(end);
  }
  const { stats } = policy;
  return { requests: stats.requests, hits: stats.hits, hitBytes, evictions: stats.removals.evict, rejected: stats.rejected };
}

/** The policy's access() bound to it, or get-then-set for a policy without one. */
function accessor(policy: CachePolicy<number, undefined>): (key: number, size: number) => boolean {
  if (policy.access) return policy.access.bind(policy);
  return (key, size) => {
    if (policy.has(key)) {
      policy.get(key);
      return true;
    }
    policy.get(key);
    policy.set(key, undefined, size);
    return false;
  };
}
