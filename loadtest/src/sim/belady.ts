// The two references every policy is measured against, both needing the whole trace:
// - Belady's MIN (Belady, "A study of replacement algorithms for a virtual-storage computer", IBM
//   Systems Journal 5(2), 1966): on a miss, evict the object whose next request is furthest in the
//   future. With unit sizes (object capacity) it is optimal, the lower bound of the miss ratio.
//   With byte capacity the same furthest-next-use rule is only a heuristic (the optimum with sizes
//   is NP-hard). Like libCacheSim's Belady.c, every missed object is admitted, even one whose
//   next use is further than everything cached.
// - The infinite cache: only compulsory (first-request) misses, the floor no capacity can beat.

/** Sentinel next-use index for "never requested again". */
export const NEVER = 0x7fffffff;

/** next[i] = index of the next request for the same key as request i, or NEVER. */
export function nextUses(keys: Int32Array): Int32Array {
  let maxKey = -1;
  for (let i = 0; i < keys.length; i++) if (keys[i]! > maxKey) maxKey = keys[i]!;
  const upcoming = new Int32Array(maxKey + 1).fill(NEVER);
  const next = new Int32Array(keys.length);
  for (let i = keys.length - 1; i >= 0; i--) {
    const key = keys[i]!;
    next[i] = upcoming[key]!;
    upcoming[key] = i;
  }
  return next;
}

export interface ReplayCounts {
  requests: number;
  hits: number;
  hitBytes: number;
  evictions: number;
  rejected: number;
}

/**
 * Replays MIN over the trace with a byte budget (pass unit sizes via `objectMode` for an object
 * budget). A max-heap of (next use, key) with lazy deletion: each request pushes a fresh entry and
 * outdated ones are skipped when they surface. Hits are counted from request `countFrom` on (the
 * requests before it warm the cache), and `requests` is the number counted.
 */
export function replayBelady(
  keys: Int32Array,
  sizes: Float64Array,
  next: Int32Array,
  capacity: number,
  objectMode: boolean,
  onProgress?: (done: number) => void,
  countFrom = 0,
): ReplayCounts {
  const n = keys.length;
  let maxKey = -1;
  for (let i = 0; i < n; i++) if (keys[i]! > maxKey) maxKey = keys[i]!;
  const cached = new Uint8Array(maxKey + 1);
  const currentNext = new Int32Array(maxKey + 1);
  const residentSize = new Float64Array(maxKey + 1);
  const heapNext = new Int32Array(n + 1);
  const heapKey = new Int32Array(n + 1);
  let heapSize = 0;
  let used = 0;
  let hits = 0;
  let hitBytes = 0;
  let evictions = 0;
  let rejected = 0;

  const push = (nextUse: number, key: number): void => {
    let at = heapSize++;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (heapNext[parent]! >= nextUse) break;
      heapNext[at] = heapNext[parent]!;
      heapKey[at] = heapKey[parent]!;
      at = parent;
    }
    heapNext[at] = nextUse;
    heapKey[at] = key;
  };
  const popTop = (): void => {
    const lastNext = heapNext[--heapSize]!;
    const lastKey = heapKey[heapSize]!;
    let at = 0;
    while (true) {
      let child = 2 * at + 1;
      if (child >= heapSize) break;
      if (child + 1 < heapSize && heapNext[child + 1]! > heapNext[child]!) child++;
      if (heapNext[child]! <= lastNext) break;
      heapNext[at] = heapNext[child]!;
      heapKey[at] = heapKey[child]!;
      at = child;
    }
    heapNext[at] = lastNext;
    heapKey[at] = lastKey;
  };

  for (let i = 0; i < n; i++) {
    if ((i & 0xfffff) === 0 && i > 0) onProgress?.(i);
    const key = keys[i]!;
    const size = sizes[i]!;
    const weight = objectMode ? 1 : size;
    const nextUse = next[i]!;
    if (cached[key] === 1) {
      if (i >= countFrom) {
        hits++;
        hitBytes += size;
      }
      currentNext[key] = nextUse;
      push(nextUse, key);
      continue;
    }
    if (weight > capacity) {
      rejected++;
      continue;
    }
    while (used + weight > capacity) {
      const victim = heapKey[0]!;
      const victimNext = heapNext[0]!;
      popTop();
      if (cached[victim] === 0 || currentNext[victim] !== victimNext) continue; // outdated entry
      cached[victim] = 0;
      used -= residentSize[victim]!;
      evictions++;
    }
    cached[key] = 1;
    currentNext[key] = nextUse;
    residentSize[key] = weight;
    used += weight;
    push(nextUse, key);
  }
  onProgress?.(n);
  return { requests: n - Math.min(n, countFrom), hits, hitBytes, evictions, rejected };
}

/** The infinite cache: a request misses only the first time its key is seen. */
export function replayInfinite(keys: Int32Array, sizes: Float64Array): ReplayCounts {
  let maxKey = -1;
  for (let i = 0; i < keys.length; i++) if (keys[i]! > maxKey) maxKey = keys[i]!;
  const seen = new Uint8Array(maxKey + 1);
  let hits = 0;
  let hitBytes = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (seen[key] === 1) {
      hits++;
      hitBytes += sizes[i]!;
    } else seen[key] = 1;
  }
  return { requests: keys.length, hits, hitBytes, evictions: 0, rejected: 0 };
}
