// FIFO: evict the entry that was stored first; a hit changes nothing. The oldest policy there is
// (Belady, "A study of replacement algorithms for a virtual-storage computer", IBM Systems
// Journal 5(2), 1966, compares it with MIN) and, as the S3-FIFO and SIEVE papers argue, a strong
// base for modern designs because a hit costs no list update.
import { SlotCache } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

class FifoCache<K, V> extends SlotCache<K, V> {
  readonly name = 'fifo';
  private readonly queue: number;

  constructor(options: PolicyOptions<K, V>) {
    super(options);
    this.queue = this.newList();
  }

  protected place(slot: number): void {
    this.pushHead(this.queue, slot);
  }
  protected touch(): void {}
  protected evictOne(): void {
    this.evict(this.tail(this.queue));
  }
  protected detach(slot: number): void {
    this.unlink(slot);
  }
}

export function createFifo<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  return new FifoCache<K, V>(options);
}
