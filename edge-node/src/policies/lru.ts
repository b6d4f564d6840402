// LRU: evict the least recently used entry; every hit moves the entry to the most-recent end.
// The classic of demand paging (Mattson, Gecsei, Slutz, Traiger, "Evaluation techniques for
// storage hierarchies", IBM Systems Journal 9(2), 1970, where its stack property gives the whole
// miss-ratio curve in one pass). Here a thin wrapper over `lru-cache` (isaacs/node-lru-cache),
// which keeps entries in typed-array linked lists with a byte budget. When keys are dense integer
// ids (`keyUniverse`, the simulator's case) the same algorithm runs on this folder's slot arrays
// instead, indexing keys with a plain array: lru-cache hashes every key through a Map, which caps
// a trace replay well below the simulator's speed target. Both make the same decisions (tested).
import { LRUCache } from 'lru-cache';
import { SlotCache } from './slot-cache.ts';
import { assertValidSize, emptyStats, type CachePolicy, type PolicyOptions, type RemovalReason } from './types.ts';

const DISPOSE_REASON: Record<LRUCache.DisposeReason, RemovalReason> = {
  evict: 'evict',
  set: 'replace',
  delete: 'delete',
  expire: 'expire',
  fetch: 'delete',
};

/** What lru-cache stores: the caller's value (none for simulator accesses) and its true size. */
interface Entry<V> {
  value: V | undefined;
  size: number;
}

class ArrayLru<K, V> extends SlotCache<K, V> {
  readonly name = 'lru';
  private readonly queue: number;

  constructor(options: PolicyOptions<K, V>) {
    super(options);
    this.queue = this.newList();
  }

  protected place(slot: number): void {
    this.pushHead(this.queue, slot);
  }
  protected touch(slot: number): void {
    this.moveToHead(this.queue, slot);
  }
  protected evictOne(): void {
    this.evict(this.tail(this.queue));
  }
  protected detach(slot: number): void {
    this.unlink(slot);
  }
}

export function createLru<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  if (options.keyUniverse !== undefined) return new ArrayLru<K, V>(options);
  return createLruCacheLru(options);
}

function createLruCacheLru<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  const stats = emptyStats();
  const { capacityBytes, onRemove } = options;
  const maxObjects = options.maxObjects ?? Number.MAX_SAFE_INTEGER;
  let bytes = 0;
  // lru-cache reports every removal through dispose as 'delete'; expiry deletes are relabelled.
  let pendingReason: RemovalReason | undefined;
  const cache = new LRUCache<K & {}, Entry<V>>({
    maxSize: capacityBytes,
    ...(options.maxObjects ? { max: options.maxObjects } : {}),
    dispose: (entry, key, reason) => {
      const removal = reason === 'delete' && pendingReason ? pendingReason : DISPOSE_REASON[reason];
      stats.removals[removal]++;
      bytes -= entry.size;
      onRemove?.(key, entry.value as V, entry.size, removal);
    },
  });
  // lru-cache wants positive integer sizes; an empty object still occupies one unit there, while
  // `bytes` (what we report) stays exact.
  const store = (key: K, value: V | undefined, size: number): boolean => {
    if (size > capacityBytes) {
      stats.rejected++;
      return false;
    }
    cache.set(key as K & {}, { value, size }, { size: size || 1 });
    bytes += size;
    stats.inserts++;
    return true;
  };
  return {
    name: 'lru',
    capacityBytes,
    maxObjects,
    get bytes() {
      return bytes;
    },
    get count() {
      return cache.size;
    },
    stats,
    get(key) {
      stats.requests++;
      const entry = cache.get(key as K & {});
      if (entry === undefined) {
        stats.misses++;
        return undefined;
      }
      stats.hits++;
      stats.hitBytes += entry.size;
      return entry.value;
    },
    access(key, size) {
      stats.requests++;
      const entry = cache.get(key as K & {});
      if (entry !== undefined) {
        stats.hits++;
        stats.hitBytes += entry.size;
        return true;
      }
      stats.misses++;
      store(key, undefined, size);
      return false;
    },
    peek: (key) => cache.peek(key as K & {})?.value,
    has: (key) => cache.has(key as K & {}),
    set(key, value, size) {
      assertValidSize(size);
      // Remove first so the old entry leaves as a 'replace' before the new size counts.
      if (cache.has(key as K & {})) {
        pendingReason = 'replace';
        try {
          cache.delete(key as K & {});
        } finally {
          pendingReason = undefined;
        }
      }
      return store(key, value, size);
    },
    delete(key, reason = 'delete') {
      pendingReason = reason;
      try {
        return cache.delete(key as K & {});
      } finally {
        pendingReason = undefined;
      }
    },
    clear() {
      pendingReason = 'delete';
      try {
        cache.clear();
      } finally {
        pendingReason = undefined;
      }
    },
    keys: () => cache.keys() as IterableIterator<K>,
  };
}
