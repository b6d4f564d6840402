// The shared machinery of the hand-written policies: a key -> slot index, entry data in
// slot-indexed arrays, intrusive doubly linked lists over Int32Array prev/next (one sentinel slot
// per list) and the statistics. A policy subclass only says where a new entry goes (`place`), what
// a hit does (`touch`), which entry leaves when space is needed (`evictOne`) and how to unhook an
// entry from its own structures (`detach`). Typed arrays keep the replay loop allocation-free.
import {
  assertValidSize,
  emptyStats,
  type CachePolicy,
  type PolicyOptions,
  type RemovalReason,
} from './types.ts';

const INITIAL_SLOTS = 64;

export abstract class SlotCache<K, V> implements CachePolicy<K, V> {
  abstract readonly name: string;
  readonly capacityBytes: number;
  readonly maxObjects: number;
  readonly stats = emptyStats();
  bytes = 0;
  count = 0;

  /** Key -> slot for general keys; null when keys are dense integers (see `dense`). */
  private readonly index: Map<K, number> | null;
  /** Key -> slot + 1 (0: absent) when `keyUniverse` is given. */
  private readonly dense: Int32Array | null;
  protected slotKeys: (K | undefined)[] = [];
  protected slotValues: (V | undefined)[] = [];
  protected sizes: Float64Array;
  protected prev: Int32Array;
  protected next: Int32Array;
  private freeSlots: Int32Array;
  private freeTop = 0;
  private nextSlot = 0;
  private readonly onRemove: PolicyOptions<K, V>['onRemove'];

  constructor(options: PolicyOptions<K, V>) {
    this.capacityBytes = options.capacityBytes;
    this.maxObjects = options.maxObjects ?? Number.MAX_SAFE_INTEGER;
    this.onRemove = options.onRemove;
    if (options.keyUniverse !== undefined) {
      if (!Number.isInteger(options.keyUniverse) || options.keyUniverse < 0) throw new TypeError(`keyUniverse must be a non-negative integer, got ${options.keyUniverse}`);
      this.dense = new Int32Array(options.keyUniverse);
      this.index = null;
    } else {
      this.dense = null;
      this.index = new Map();
    }
    const initial = Math.min(INITIAL_SLOTS, this.maxObjects + 8);
    this.sizes = new Float64Array(initial);
    this.prev = new Int32Array(initial);
    this.next = new Int32Array(initial);
    this.freeSlots = new Int32Array(initial);
  }

  // --- hooks --------------------------------------------------------------------------------
  /** Puts a freshly stored slot into the policy's structures. */
  protected abstract place(slot: number): void;
  /** A request found the slot. */
  protected abstract touch(slot: number): void;
  /** Frees space by removing one entry (via `evict`) or by moving entries between structures. */
  protected abstract evictOne(incomingSize: number): void;
  /** Unhooks a slot that is leaving the cache (evicted, deleted or replaced). */
  protected abstract detach(slot: number): void;
  /** Admission: called on every miss before space is made; false turns the object away. */
  protected admit(_key: K, _size: number): boolean {
    return true;
  }
  /** Resizes per-slot arrays a subclass keeps; it must call super. */
  protected grow(length: number): void {
    this.sizes = resized(this.sizes, length);
    this.prev = resized(this.prev, length);
    this.next = resized(this.next, length);
    this.freeSlots = resized(this.freeSlots, length);
  }

  // --- lists ------------------------------------------------------------------------------
  /** Allocates a sentinel slot: an empty circular list whose next is the head, prev the tail. */
  protected newList(): number {
    const s = this.allocSlot();
    this.prev[s] = s;
    this.next[s] = s;
    return s;
  }
  protected pushHead(list: number, slot: number): void {
    const first = this.next[list]!;
    this.next[slot] = first;
    this.prev[slot] = list;
    this.prev[first] = slot;
    this.next[list] = slot;
  }
  protected unlink(slot: number): void {
    const p = this.prev[slot]!;
    const n = this.next[slot]!;
    this.next[p] = n;
    this.prev[n] = p;
  }
  protected moveToHead(list: number, slot: number): void {
    this.unlink(slot);
    this.pushHead(list, slot);
  }
  /** The oldest slot of a list, or the sentinel itself when the list is empty. */
  protected tail(list: number): number {
    return this.prev[list]!;
  }

  // --- CachePolicy ------------------------------------------------------------------------
  get(key: K): V | undefined {
    const stats = this.stats;
    stats.requests++;
    const slot = this.lookup(key);
    if (slot < 0) {
      stats.misses++;
      return undefined;
    }
    stats.hits++;
    stats.hitBytes += this.sizes[slot]!;
    this.touch(slot);
    return this.slotValues[slot];
  }

  access(key: K, size: number): boolean {
    const stats = this.stats;
    stats.requests++;
    const slot = this.lookup(key);
    if (slot >= 0) {
      stats.hits++;
      stats.hitBytes += this.sizes[slot]!;
      this.touch(slot);
      return true;
    }
    stats.misses++;
    this.store(key, undefined, size);
    return false;
  }

  peek(key: K): V | undefined {
    const slot = this.lookup(key);
    return slot < 0 ? undefined : this.slotValues[slot];
  }

  has(key: K): boolean {
    return this.lookup(key) >= 0;
  }

  set(key: K, value: V, size: number): boolean {
    assertValidSize(size);
    const slot = this.lookup(key);
    // A replacement is a new entry: the old one leaves (reason 'replace') with its history.
    if (slot >= 0) this.removeSlot(slot, 'replace');
    return this.store(key, value, size);
  }

  delete(key: K, reason: 'delete' | 'expire' = 'delete'): boolean {
    const slot = this.lookup(key);
    if (slot < 0) return false;
    this.removeSlot(slot, reason);
    return true;
  }

  clear(): void {
    for (const key of [...this.keys()]) this.delete(key);
  }

  keys(): IterableIterator<K> {
    if (this.index) return this.index.keys();
    const slotKeys = this.slotKeys;
    const end = this.nextSlot;
    return (function* () {
      for (let slot = 0; slot < end; slot++) if (slotKeys[slot] !== undefined) yield slotKeys[slot] as K;
    })();
  }

  // --- internals --------------------------------------------------------------------------
  /** Admits and stores a missed object, making room first; false when it is not admitted. */
  protected store(key: K, value: V | undefined, size: number): boolean {
    if (size > this.capacityBytes || !this.admit(key, size)) {
      this.stats.rejected++;
      return false;
    }
    while (this.count > 0 && (this.bytes + size > this.capacityBytes || this.count >= this.maxObjects)) {
      this.evictOne(size);
    }
    const slot = this.allocSlot();
    if (this.dense) this.dense[key as number] = slot + 1;
    else this.index!.set(key, slot);
    this.slotKeys[slot] = key;
    this.slotValues[slot] = value;
    this.sizes[slot] = size;
    this.bytes += size;
    this.count++;
    this.stats.inserts++;
    this.place(slot);
    return true;
  }

  protected evict(slot: number): void {
    this.removeSlot(slot, 'evict');
  }

  protected removeSlot(slot: number, reason: RemovalReason): void {
    this.detach(slot);
    const key = this.slotKeys[slot] as K;
    const value = this.slotValues[slot] as V;
    const size = this.sizes[slot]!;
    if (this.dense) this.dense[key as number] = 0;
    else this.index!.delete(key);
    this.slotKeys[slot] = undefined;
    this.slotValues[slot] = undefined;
    this.bytes -= size;
    this.count--;
    this.freeSlots[this.freeTop++] = slot;
    this.stats.removals[reason]++;
    this.onRemove?.(key, value, size, reason);
  }

  /** The key's slot, or -1. */
  protected lookup(key: K): number {
    if (this.dense === null) return this.index!.get(key) ?? -1;
    const id = key as number;
    if (id >>> 0 === id && id < this.dense.length) return this.dense[id]! - 1;
    throw new TypeError(`key ${String(key)} is not an integer id in [0, ${this.dense.length})`);
  }

  private allocSlot(): number {
    if (this.freeTop > 0) return this.freeSlots[--this.freeTop]!;
    const slot = this.nextSlot++;
    if (slot >= this.sizes.length) this.grow(this.sizes.length * 2);
    return slot;
  }
}

/** A copy of `array` with `length` elements (zero-filled past the old end). */
export function resized<T extends Float64Array | Int32Array | Uint8Array>(array: T, length: number): T {
  const copy = new (array.constructor as new (n: number) => T)(length);
  copy.set(array.subarray(0, Math.min(array.length, length)));
  return copy;
}
