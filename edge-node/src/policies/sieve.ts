// SIEVE: one FIFO queue, one "visited" bit per entry and a hand. New entries go to the head; a hit
// only sets the bit. To evict, the hand walks from where it stopped towards the head (wrapping to
// the tail), clearing set bits, and evicts the first unvisited entry; survivors stay in place, so
// old popular entries sift to the tail side while new ones are weeded out quickly (lazy promotion,
// quick demotion). Zhang, Yang, Yue, Vigfusson, Rashmi, "SIEVE is Simpler than LRU: an Efficient
// Turn-Key Eviction Algorithm for Web Caches", NSDI 2024. Follows libCacheSim's Sieve.c.
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

class SieveCache<K, V> extends SlotCache<K, V> {
  readonly name = 'sieve';
  private readonly queue: number;
  /** The slot the hand points at, or the sentinel: start from the tail. */
  private hand: number;
  private visited = new Uint8Array(this.sizes.length);

  constructor(options: PolicyOptions<K, V>) {
    super(options);
    this.queue = this.newList();
    this.hand = this.queue;
  }

  protected override grow(length: number): void {
    super.grow(length);
    this.visited = resized(this.visited, length);
  }
  protected place(slot: number): void {
    this.visited[slot] = 0;
    this.pushHead(this.queue, slot);
  }
  protected touch(slot: number): void {
    this.visited[slot] = 1;
  }
  protected evictOne(): void {
    const queue = this.queue;
    const visited = this.visited;
    let victim = this.hand === queue ? this.tail(queue) : this.hand;
    while (visited[victim] === 1) {
      visited[victim] = 0;
      victim = this.prev[victim]!;
      if (victim === queue) victim = this.tail(queue);
    }
    this.hand = this.prev[victim]!;
    this.evict(victim);
  }
  protected detach(slot: number): void {
    if (slot === this.hand) this.hand = this.prev[slot]!;
    this.unlink(slot);
  }
}

export function createSieve<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  return new SieveCache<K, V>(options);
}
