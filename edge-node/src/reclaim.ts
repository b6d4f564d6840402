// Returning evicted bodies' memory promptly. A cached body is a Buffer whose bytes live outside the
// V8 heap; once evicted it is garbage, but V8 frees it only when a major GC finds it dead, and V8
// starts one for external memory only after 64 MiB more of it than at the last GC. A full cache that
// evicts steadily therefore carries up to 64 MiB of dead bodies on top of its budget. The cache knows
// exactly how many bytes it let go, so it asks for a major GC after a share of its budget has been
// evicted, at most once per interval (loadtest/BENCH.md: the memory scenario). The price is a pause:
// 50-80 ms for a full 256 MiB cache on the bench machine, so the interval is a second.
import v8 from 'node:v8';
import vm from 'node:vm';

export type MajorGc = () => void;

export interface ReclaimerOptions {
  /** Evicted bytes that make a collection worth its pause. */
  thresholdBytes: number;
  /** Fewest ms between two requested collections (V8's own trigger still applies in between). */
  minIntervalMs: number;
  now: () => number;
  collect: MajorGc;
}

export class BodyReclaimer {
  private readonly options: ReclaimerOptions;
  private pendingBytes = 0;
  private lastMs = -Infinity;

  constructor(options: ReclaimerOptions) {
    this.options = options;
  }

  /** Counts bytes that just became garbage; asks for a collection once enough have. */
  released(bytes: number): void {
    this.pendingBytes += bytes;
    if (this.pendingBytes < this.options.thresholdBytes) return;
    const now = this.options.now();
    if (now - this.lastMs < this.options.minIntervalMs) return;
    this.pendingBytes = 0;
    this.lastMs = now;
    this.options.collect();
  }
}

type GcFunction = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => unknown;

/** V8's gc(), looked up once per process (a lookup without --expose-gc creates a VM context). */
let exposedGc: GcFunction | undefined;

function v8Gc(): GcFunction {
  exposedGc ??= (globalThis as { gc?: GcFunction }).gc;
  if (typeof exposedGc !== 'function') {
    v8.setFlagsFromString('--expose-gc');
    exposedGc = vm.runInNewContext('gc') as GcFunction;
  }
  return exposedGc;
}

/**
 * V8's gc(), scheduled as a task (`execution: 'async'`) so it never runs inside a request. Node
 * exposes gc() only under --expose-gc; the flag is set here so every launcher gets the same edge.
 */
export function majorGc(): MajorGc {
  const collect = v8Gc();
  return () => {
    void collect({ type: 'major', execution: 'async' });
  };
}
