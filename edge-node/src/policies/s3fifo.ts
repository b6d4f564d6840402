// S3-FIFO: three FIFO queues. New objects enter a small queue S (10% of the space); an object
// leaving S that was requested again meanwhile moves to the main queue M, otherwise it is evicted
// and its key kept in a ghost queue G (FIFO of keys, 90% of the space by weight). A miss whose key
// is in G goes straight to M. M is a CLOCK with a 2-bit counter (reinsert while the counter is
// non-zero, decrementing it). Most objects are requested once: S removes these "one-hit wonders"
// quickly (quick demotion). Yang, Zhang, Qiu, Yue, Rashmi, "FIFO queues are all you need for cache
// eviction", SOSP 2023. Follows libCacheSim's S3FIFO.c (move-to-main threshold of 2 requests in
// S, inserts go to M until the first eviction once S is full), except that an object as large as
// S goes to M instead of being refused.
import { GhostQueue } from './ghost-queue.ts';
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

export interface S3FifoOptions<K, V> extends PolicyOptions<K, V> {
  /** Share of the capacity given to the small queue. */
  smallRatio?: number;
  /** Share of the capacity (by weight) remembered in the ghost queue. */
  ghostRatio?: number;
  /** Requests in the small queue needed to move to main on leaving it. */
  moveToMainThreshold?: number;
}

const SMALL = 1;
const MAIN = 2;

class S3FifoCache<K, V> extends SlotCache<K, V> {
  readonly name = 's3fifo';
  private readonly small: number;
  private readonly main: number;
  private readonly smallCapacity: number;
  private readonly mainCapacity: number;
  private readonly ghostCapacity: number;
  private readonly threshold: number;
  private smallBytes = 0;
  private mainBytes = 0;
  // Counts too: with zero-size entries a queue can hold entries and no bytes.
  private smallCount = 0;
  private mainCount = 0;
  private readonly ghost = new GhostQueue<K>();
  private hitOnGhost = false;
  private hasEvicted = false;
  private freq = new Uint8Array(this.sizes.length);
  private queueOf = new Uint8Array(this.sizes.length);

  constructor(options: S3FifoOptions<K, V>) {
    super(options);
    this.small = this.newList();
    this.main = this.newList();
    this.smallCapacity = Math.floor(options.capacityBytes * (options.smallRatio ?? 0.1));
    this.mainCapacity = options.capacityBytes - this.smallCapacity;
    this.ghostCapacity = Math.floor(options.capacityBytes * (options.ghostRatio ?? 0.9));
    this.threshold = options.moveToMainThreshold ?? 2;
  }

  protected override grow(length: number): void {
    super.grow(length);
    this.freq = resized(this.freq, length);
    this.queueOf = resized(this.queueOf, length);
  }
  protected override admit(key: K): boolean {
    this.hitOnGhost = this.ghost.take(key) >= 0;
    return true;
  }
  protected place(slot: number): void {
    this.freq[slot] = 0;
    const size = this.sizes[slot]!;
    const toMain =
      this.hitOnGhost || size >= this.smallCapacity || (!this.hasEvicted && this.smallBytes >= this.smallCapacity);
    this.hitOnGhost = false;
    if (toMain) this.enterMain(slot);
    else {
      this.queueOf[slot] = SMALL;
      this.smallBytes += size;
      this.smallCount++;
      this.pushHead(this.small, slot);
    }
  }
  protected touch(slot: number): void {
    if (this.freq[slot]! < 3) this.freq[slot]!++;
  }
  protected evictOne(): void {
    this.hasEvicted = true;
    if (this.mainBytes > this.mainCapacity || this.smallCount === 0) this.evictMain();
    else this.evictSmall();
  }
  protected detach(slot: number): void {
    if (this.queueOf[slot] === SMALL) {
      this.smallBytes -= this.sizes[slot]!;
      this.smallCount--;
    } else {
      this.mainBytes -= this.sizes[slot]!;
      this.mainCount--;
    }
    this.unlink(slot);
  }

  private enterMain(slot: number): void {
    this.queueOf[slot] = MAIN;
    this.mainBytes += this.sizes[slot]!;
    this.mainCount++;
    this.pushHead(this.main, slot);
  }
  private evictSmall(): void {
    while (this.smallCount > 0) {
      const victim = this.tail(this.small);
      if (this.freq[victim]! >= this.threshold) {
        this.detach(victim);
        this.freq[victim] = 0;
        this.enterMain(victim);
        continue;
      }
      const key = this.slotKeys[victim] as K;
      const size = this.sizes[victim]!;
      this.evict(victim);
      this.remember(key, size);
      return;
    }
  }
  private evictMain(): void {
    const freq = this.freq;
    while (this.mainCount > 0) {
      const victim = this.tail(this.main);
      if (freq[victim]! >= 1) {
        freq[victim]!--;
        this.moveToHead(this.main, victim);
        continue;
      }
      this.evict(victim);
      return;
    }
  }
  private remember(key: K, size: number): void {
    if (size > this.ghostCapacity) return;
    const ghost = this.ghost;
    while (ghost.bytes + size > this.ghostCapacity) ghost.dropOldest();
    ghost.push(key, size);
  }
}

export function createS3Fifo<K, V>(options: S3FifoOptions<K, V>): CachePolicy<K, V> {
  return new S3FifoCache<K, V>(options);
}
