// ARC (Adaptive Replacement Cache): two LRU lists of cached entries, T1 (seen once recently) and
// T2 (seen at least twice), plus two ghost lists of keys only, B1 and B2, of what was evicted from
// each. A miss that hits B1 means T1 was too small, so the target size p of T1 grows; a hit in B2
// shrinks it. On eviction, T1's LRU end goes when |T1| exceeds p, else T2's. Megiddo, Modha,
// "ARC: A Self-Tuning, Low Overhead Replacement Cache", USENIX FAST 2003. Lists are measured in
// bytes and the cases follow libCacheSim's ARC.c for variable sizes (p moves by max(1, |B2|/|B1|)
// per ghost hit; a ghost hit only replaces; other misses trim B1 or B2 first), which for unit
// sizes is the paper's algorithm exactly.
import { GhostQueue } from './ghost-queue.ts';
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

const T1 = 1;
const T2 = 2;

class ArcCache<K, V> extends SlotCache<K, V> {
  readonly name = 'arc';
  private readonly t1: number;
  private readonly t2: number;
  private readonly b1 = new GhostQueue<K>();
  private readonly b2 = new GhostQueue<K>();
  private t1Bytes = 0;
  private t2Bytes = 0;
  /** Target bytes of T1. */
  private p = 0;
  /** Where the current miss was found: 0 nowhere, T1 in B1, T2 in B2. */
  private ghostHit = 0;
  private list = new Uint8Array(this.sizes.length);

  constructor(options: PolicyOptions<K, V>) {
    super(options);
    this.t1 = this.newList();
    this.t2 = this.newList();
  }

  protected override grow(length: number): void {
    super.grow(length);
    this.list = resized(this.list, length);
  }
  protected override admit(key: K): boolean {
    const { b1, b2 } = this;
    this.ghostHit = 0;
    if (b1.has(key)) {
      this.p = Math.min(this.capacityBytes, this.p + Math.max(b2.bytes / b1.bytes, 1));
      b1.take(key);
      this.ghostHit = T1;
    } else if (b2.has(key)) {
      this.p = Math.max(0, this.p - Math.max(b1.bytes / b2.bytes, 1));
      b2.take(key);
      this.ghostHit = T2;
    }
    return true;
  }
  protected place(slot: number): void {
    const size = this.sizes[slot]!;
    if (this.ghostHit === 0) {
      this.list[slot] = T1;
      this.t1Bytes += size;
      this.pushHead(this.t1, slot);
    } else {
      this.list[slot] = T2;
      this.t2Bytes += size;
      this.pushHead(this.t2, slot);
    }
    this.ghostHit = 0;
  }
  protected touch(slot: number): void {
    if (this.list[slot] === T1) {
      const size = this.sizes[slot]!;
      this.t1Bytes -= size;
      this.t2Bytes += size;
      this.list[slot] = T2;
    }
    this.moveToHead(this.t2, slot);
  }
  protected evictOne(incomingSize: number): void {
    const c = this.capacityBytes;
    const { b1, b2 } = this;
    if (this.ghostHit !== 0) {
      this.replace();
    } else if (this.t1Bytes + b1.bytes + incomingSize > c) {
      // Case A: T1 + B1 is full. Drop B1's oldest and replace, or with B1 empty evict T1's LRU outright.
      if (b1.bytes > 0) {
        b1.dropOldest();
        this.replace();
      } else this.evict(this.tail(this.t1));
    } else {
      // Case B: the directory holds 2c: drop B2's oldest, then replace.
      if (this.t1Bytes + b1.bytes + this.t2Bytes + b2.bytes >= 2 * c && b2.bytes > 0) b2.dropOldest();
      this.replace();
    }
  }

  /** REPLACE of the paper: T1's LRU entry goes to B1 when T1 exceeds its target, else T2's to B2. */
  private replace(): void {
    let fromT1 =
      (this.t1Bytes > 0 && (this.t1Bytes > this.p || (this.t1Bytes === this.p && this.ghostHit === T2))) || this.t2Bytes === 0;
    // Zero-size entries can leave a list non-empty at 0 bytes (or empty at 0): pick a list that has one.
    if (fromT1 && this.tail(this.t1) === this.t1) fromT1 = false;
    else if (!fromT1 && this.tail(this.t2) === this.t2) fromT1 = true;
    const victim = this.tail(fromT1 ? this.t1 : this.t2);
    const key = this.slotKeys[victim] as K;
    const size = this.sizes[victim]!;
    this.evict(victim);
    (fromT1 ? this.b1 : this.b2).push(key, size);
  }
  protected detach(slot: number): void {
    const size = this.sizes[slot]!;
    if (this.list[slot] === T1) this.t1Bytes -= size;
    else this.t2Bytes -= size;
    this.unlink(slot);
  }
}

export function createArc<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  return new ArcCache<K, V>(options);
}
