// "Second hit" admission: an object is stored only on its second miss within a recent history, so
// the many objects requested once (one-hit wonders: the majority in CDN traces) never displace
// anything. The history is a FIFO of recently missed keys, bounded in keys; it sits in front of any
// policy. Maggs, Sitaraman, "Algorithmic Nuggets in Content Delivery", ACM SIGCOMM CCR 45(3), 2015
// (Akamai's cache-on-second-hit rule).
import { GhostQueue } from './ghost-queue.ts';
import { assertValidSize, type CachePolicy, type PolicyStats } from './types.ts';

export interface SecondHitOptions {
  /** Keys remembered as seen once; defaults to the inner cache's object capacity (or 1/16 of its bytes, at least 1024). */
  historyKeys?: number;
}

export class SecondHitFilter<K, V> implements CachePolicy<K, V> {
  readonly name: string;
  private readonly inner: CachePolicy<K, V>;
  private readonly seen = new GhostQueue<K>();
  private readonly historyKeys: number;

  constructor(inner: CachePolicy<K, V>, options: SecondHitOptions = {}) {
    this.inner = inner;
    this.name = `second-hit+${inner.name}`;
    const fallback = inner.maxObjects < Number.MAX_SAFE_INTEGER ? inner.maxObjects : Math.max(1024, Math.floor(inner.capacityBytes / 16));
    this.historyKeys = Math.max(1, Math.min(options.historyKeys ?? fallback, 1 << 22));
  }

  get capacityBytes(): number {
    return this.inner.capacityBytes;
  }
  get maxObjects(): number {
    return this.inner.maxObjects;
  }
  get bytes(): number {
    return this.inner.bytes;
  }
  get count(): number {
    return this.inner.count;
  }
  get stats(): PolicyStats {
    return this.inner.stats;
  }

  get(key: K): V | undefined {
    return this.inner.get(key);
  }
  peek(key: K): V | undefined {
    return this.inner.peek(key);
  }
  has(key: K): boolean {
    return this.inner.has(key);
  }
  set(key: K, value: V, size: number): boolean {
    assertValidSize(size);
    if (!this.inner.has(key) && !this.secondMiss(key)) {
      this.inner.stats.rejected++;
      return false;
    }
    return this.inner.set(key, value, size);
  }
  access(key: K, size: number): boolean {
    if (this.inner.has(key) || this.seen.has(key)) {
      if (!this.inner.has(key)) this.seen.take(key);
      if (this.inner.access) return this.inner.access(key, size);
      if (this.inner.get(key) !== undefined) return true;
      this.inner.set(key, undefined as V, size);
      return false;
    }
    this.remember(key);
    const stats = this.inner.stats;
    stats.requests++;
    stats.misses++;
    stats.rejected++;
    return false;
  }
  delete(key: K, reason?: 'delete' | 'expire'): boolean {
    this.seen.take(key);
    return this.inner.delete(key, reason);
  }
  clear(): void {
    this.seen.clear();
    this.inner.clear();
  }
  keys(): IterableIterator<K> {
    return this.inner.keys();
  }

  /** True when the key was missed before (and forgets it); otherwise remembers it. */
  private secondMiss(key: K): boolean {
    if (this.seen.take(key) >= 0) return true;
    this.remember(key);
    return false;
  }
  private remember(key: K): void {
    if (this.seen.size >= this.historyKeys) this.seen.dropOldest();
    this.seen.push(key, 1);
  }
}
