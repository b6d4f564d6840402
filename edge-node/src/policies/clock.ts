// CLOCK (second chance): a FIFO queue where each entry has a small reference counter. A hit
// increments it (up to 2^bits - 1); at eviction the oldest entry is examined: if its counter is
// non-zero it is decremented and the entry is moved back to the head, otherwise it is evicted.
// Corbató, "A paging experiment with the Multics system" (MIT Project MAC, 1968). Same semantics
// as libCacheSim's Clock.c (n-bit-counter=1 by default), so miss ratios match it exactly.
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

export interface ClockOptions<K, V> extends PolicyOptions<K, V> {
  /** Bits of the reference counter (1 = classic second chance). */
  counterBits?: number;
}

class ClockCache<K, V> extends SlotCache<K, V> {
  readonly name = 'clock';
  private readonly queue: number;
  private readonly maxFreq: number;
  private freq = new Uint8Array(this.sizes.length);

  constructor(options: ClockOptions<K, V>) {
    super(options);
    const bits = options.counterBits ?? 1;
    if (!Number.isInteger(bits) || bits < 1 || bits > 7) throw new TypeError(`counterBits must be 1..7, got ${bits}`);
    this.maxFreq = (1 << bits) - 1;
    this.queue = this.newList();
  }

  protected override grow(length: number): void {
    super.grow(length);
    this.freq = resized(this.freq, length);
  }
  protected place(slot: number): void {
    this.freq[slot] = 0;
    this.pushHead(this.queue, slot);
  }
  protected touch(slot: number): void {
    if (this.freq[slot]! < this.maxFreq) this.freq[slot]!++;
  }
  protected evictOne(): void {
    const queue = this.queue;
    const freq = this.freq;
    let victim = this.tail(queue);
    while (freq[victim]! >= 1) {
      freq[victim]!--;
      this.moveToHead(queue, victim);
      victim = this.tail(queue);
    }
    this.evict(victim);
  }
  protected detach(slot: number): void {
    this.unlink(slot);
  }
}

export function createClock<K, V>(options: ClockOptions<K, V>): CachePolicy<K, V> {
  return new ClockCache<K, V>(options);
}
