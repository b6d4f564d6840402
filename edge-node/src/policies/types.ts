// The one interface every eviction policy implements. The edge node's cache store and the offline
// simulator drive the very same objects, so a policy measured offline is the policy that serves.
// Policies import nothing HTTP: keys are opaque, values are whatever the caller stores.

/** Why an entry left the cache; a closed set so it maps straight onto a bounded metric label. */
export type RemovalReason = 'evict' | 'delete' | 'replace' | 'expire';
export const REMOVAL_REASONS: readonly RemovalReason[] = ['evict', 'delete', 'replace', 'expire'];

export interface PolicyStats {
  /** get() calls. */
  requests: number;
  hits: number;
  misses: number;
  /** Bytes of the entries that get() found. */
  hitBytes: number;
  /** set() calls that stored the entry. */
  inserts: number;
  /** set() calls refused: larger than the cache, or turned away by an admission filter. */
  rejected: number;
  /** Entries removed, by reason. */
  removals: Record<RemovalReason, number>;
}

export interface PolicyOptions<K, V> {
  /** Byte budget; the sum of entry sizes never exceeds it. Must be a positive integer. */
  capacityBytes: number;
  /** Optional cap on the number of entries (object capacity). */
  maxObjects?: number;
  /**
   * Keys are integers in [0, keyUniverse) (a simulator's interned ids): the policy may index them
   * with a plain array instead of a hash map. Other keys are then a TypeError.
   */
  keyUniverse?: number;
  /** Called once for every entry that leaves the cache, with the reason. */
  onRemove?: (key: K, value: V, size: number, reason: RemovalReason) => void;
}

export interface CachePolicy<K, V> {
  readonly name: string;
  readonly capacityBytes: number;
  readonly maxObjects: number;
  /** Sum of the sizes of the entries held now. */
  readonly bytes: number;
  /** Number of entries held now. */
  readonly count: number;
  readonly stats: PolicyStats;
  /** Looks a key up as a request: counts a hit or a miss and updates the policy's bookkeeping. */
  get(key: K): V | undefined;
  /** Looks a key up with no side effect on order or statistics. */
  peek(key: K): V | undefined;
  has(key: K): boolean;
  /**
   * Stores (or replaces) an entry of `size` bytes, evicting as the policy decides until it fits.
   * Returns false when the entry was not admitted (bigger than the cache, or refused by admission).
   */
  set(key: K, value: V, size: number): boolean;
  /** Removes an entry; returns whether it was there. */
  delete(key: K, reason?: 'delete' | 'expire'): boolean;
  clear(): void;
  keys(): IterableIterator<K>;
  /**
   * Replays one request the way a trace-driven simulator does (libCacheSim's `get`): on a hit,
   * counts it and updates the policy's bookkeeping, returning true; on a miss, counts it and admits
   * the object with no value (subject to the size limit and any admission filter), returning false.
   * Stats are the same as a get() followed, on a miss, by a set(). Optional so that a hand-rolled
   * policy can omit it; every policy in this folder has it.
   */
  access?(key: K, size: number): boolean;
}

export type PolicyFactory = <K, V>(options: PolicyOptions<K, V>) => CachePolicy<K, V>;

/** Throws on a size no cache can hold: negative, fractional or not a number (a caller's bug). */
export function assertValidSize(size: number): void {
  if (!Number.isInteger(size) || size < 0) throw new TypeError(`entry size must be a non-negative integer, got ${size}`);
}

export function emptyStats(): PolicyStats {
  return { requests: 0, hits: 0, misses: 0, hitBytes: 0, inserts: 0, rejected: 0, removals: { evict: 0, delete: 0, replace: 0, expire: 0 } };
}
