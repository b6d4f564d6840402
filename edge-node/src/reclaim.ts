// Returning evicted bodies' memory promptly. A cached body is a Buffer whose bytes live outside the
// V8 heap; once evicted it is garbage, but V8 frees it only when a major GC finds it dead, and V8
// starts one for external memory only after 64 MiB more of it than at the last GC. A full cache that
// evicts steadily would therefore carry up to 64 MiB of dead bodies on top of its budget. Two ways
// back, by size: a large body has pages of its own, given back the moment its last user lets go
// (ReleasableBodies); for small bodies, which share malloc's pages, the cache asks for a major GC
// after a share of its budget has been evicted, at most once per interval (BodyReclaimer). That GC
// pauses tens of milliseconds with a large cache, so the interval is a second (loadtest/BENCH.md:
// the memory scenario).
import type { ServerResponse } from 'node:http';
import v8 from 'node:v8';
import vm from 'node:vm';

/**
 * Bodies of at least this many bytes get pages of their own. Smaller ones would waste most of a
 * 4 KiB page each; from here on the rounding costs under 6%, and these bodies carry most of the
 * bytes of a realistic size mix (the bench's memory fill).
 */
export const OWN_PAGES_MIN_BYTES = 64 * 1024;

/** ES2024's resizable ArrayBuffer (Node 20+), not yet in the ES2023 lib this project compiles against. */
interface ResizableArrayBuffer extends ArrayBuffer {
  readonly resizable: boolean;
  resize(byteLength: number): void;
}
const ResizableArrayBufferCtor = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/**
 * Room for a body of `bytes`, uninitialised. From OWN_PAGES_MIN_BYTES on it is a view of a resizable
 * ArrayBuffer sized exactly to it, which V8 keeps in pages of its own: `resize(0)` returns them to the
 * system at once (ReleasableBodies). Below that, an ordinary Buffer of its own (never Node's pool).
 */
export function allocateBody(bytes: number): Buffer {
  if (bytes < OWN_PAGES_MIN_BYTES) return Buffer.allocUnsafeSlow(bytes);
  return Buffer.from(new ResizableArrayBufferCtor(bytes, { maxByteLength: bytes }), 0, bytes);
}

function ownPages(body: Uint8Array): ResizableArrayBuffer | undefined {
  const pages = body.buffer as ResizableArrayBuffer;
  return pages.resizable === true ? pages : undefined;
}

/** Whether `body` has pages of its own (see allocateBody), so ReleasableBodies gives them back. */
export function isReleasable(body: Uint8Array): boolean {
  return ownPages(body) !== undefined;
}

/**
 * Gives a large body's pages back when its last user lets go, instead of at V8's next major GC.
 * Giving them back while anything may still write the bytes would send zeros or a short body, so
 * every user holds the body: each cache entry that stores it (CacheStore), each response that may
 * write it (`lease`, until the response's 'close', which comes after its last byte went to the
 * socket or the socket died), each revalidation that may carry it into a refreshed entry. The last
 * drop releases it on the next turn of the event loop, so a user that picks the body up later in
 * the same turn (a coalesced follower, resumed by the leader's promise) still finds it. Bodies
 * without pages of their own are left to the garbage collector; every call ignores them.
 */
export class ReleasableBodies {
  private readonly holds = new WeakMap<ResizableArrayBuffer, number>();
  /** Bytes given back so far (for tests and the curious). */
  releasedBytes = 0;

  hold(body: Uint8Array): void {
    const pages = ownPages(body);
    if (pages !== undefined) this.holdPages(pages);
  }

  drop(body: Uint8Array): void {
    const pages = ownPages(body);
    if (pages !== undefined) this.dropPages(pages);
  }

  /** Holds `body` for as long as `res` may write it. */
  lease(body: Uint8Array, res: ServerResponse): void {
    const pages = ownPages(body);
    if (pages === undefined) return;
    this.holdPages(pages);
    res.once('close', () => this.dropPages(pages));
  }

  private holdPages(pages: ResizableArrayBuffer): void {
    // A released body in use again means a user that did not hold it: fail the request, never send zeros.
    if (pages.byteLength === 0) throw new Error('a released body was used again (it was not held)');
    this.holds.set(pages, (this.holds.get(pages) ?? 0) + 1);
  }

  private dropPages(pages: ResizableArrayBuffer): void {
    const left = (this.holds.get(pages) ?? 0) - 1;
    this.holds.set(pages, Math.max(0, left));
    if (left <= 0) setImmediate(() => this.releaseIfUnheld(pages));
  }

  private releaseIfUnheld(pages: ResizableArrayBuffer): void {
    if ((this.holds.get(pages) ?? 0) > 0 || pages.byteLength === 0) return;
    this.holds.delete(pages);
    this.releasedBytes += pages.byteLength;
    pages.resize(0);
  }
}

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
