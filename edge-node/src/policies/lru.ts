// LRU: evict the least recently used entry. The classic; here a thin wrapper over `lru-cache`
// (isaacs/node-lru-cache), which keeps entries in typed-array linked lists with a byte budget.
import { LRUCache } from 'lru-cache';
import { emptyStats, type CachePolicy, type PolicyOptions, type RemovalReason } from './types.ts';

const DISPOSE_REASON: Record<LRUCache.DisposeReason, RemovalReason> = {
  evict: 'evict',
  set: 'replace',
  delete: 'delete',
  expire: 'expire',
  fetch: 'delete',
};

export function createLru<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  const stats = emptyStats();
  const maxObjects = options.maxObjects ?? Number.MAX_SAFE_INTEGER;
  const sizes = new Map<K, number>();
  // lru-cache reports deletes with reason 'delete'; we relabel expiry deletes via this flag.
  let pendingReason: RemovalReason | undefined;
  const cache = new LRUCache<K & {}, V & {}>({
    maxSize: options.capacityBytes,
    ...(options.maxObjects ? { max: options.maxObjects } : {}),
    sizeCalculation: (_value, key) => sizes.get(key) ?? 1,
    dispose: (value, key, reason) => {
      const size = sizes.get(key) ?? 0;
      const removal = reason === 'delete' && pendingReason ? pendingReason : DISPOSE_REASON[reason];
      stats.removals[removal]++;
      if (removal !== 'replace') sizes.delete(key);
      options.onRemove?.(key, value, size, removal);
    },
  });
  return {
    name: 'lru',
    capacityBytes: options.capacityBytes,
    maxObjects,
    get bytes() {
      return cache.calculatedSize;
    },
    get count() {
      return cache.size;
    },
    stats,
    get(key) {
      stats.requests++;
      const value = cache.get(key as K & {});
      if (value === undefined) {
        stats.misses++;
        return undefined;
      }
      stats.hits++;
      stats.hitBytes += sizes.get(key) ?? 0;
      return value;
    },
    peek: (key) => cache.peek(key as K & {}),
    has: (key) => cache.has(key as K & {}),
    set(key, value, size) {
      if (size > options.capacityBytes || size < 0) {
        stats.rejected++;
        return false;
      }
      // The replaced value is disposed with the old size still recorded, then the new size applies.
      if (cache.has(key as K & {})) cache.delete(key as K & {});
      sizes.set(key, size);
      cache.set(key as K & {}, value as V & {});
      stats.inserts++;
      return true;
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
