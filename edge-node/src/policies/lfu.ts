// LFU with dynamic aging (LFU-DA): each entry has a priority K = L + F, where F counts its requests
// and L is the cache "age", set to the priority of the last evicted entry; the entry with the
// lowest K is evicted (ties: least recently used). Plain LFU keeps once-hot objects forever; the
// aging term lets newer objects overtake them. Arlitt, Cherkasova, Dilley, Friedrich, Jin,
// "Evaluating content management techniques for Web proxy caches", ACM SIGMETRICS PER 27(4), 2000.
// A binary min-heap over slots (positions kept per slot) gives O(log n) hits and evictions.
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

class LfuCache<K, V> extends SlotCache<K, V> {
  readonly name = 'lfu';
  private age = 0;
  private clock = 0;
  private freq = new Float64Array(this.sizes.length);
  private priority = new Float64Array(this.sizes.length);
  private lastUse = new Float64Array(this.sizes.length);
  private heapPos = new Int32Array(this.sizes.length);
  private heap = new Int32Array(this.sizes.length);
  private heapSize = 0;

  protected override grow(length: number): void {
    super.grow(length);
    this.freq = resized(this.freq, length);
    this.priority = resized(this.priority, length);
    this.lastUse = resized(this.lastUse, length);
    this.heapPos = resized(this.heapPos, length);
    this.heap = resized(this.heap, length);
  }
  protected place(slot: number): void {
    this.freq[slot] = 1;
    this.priority[slot] = this.age + 1;
    this.lastUse[slot] = ++this.clock;
    const at = this.heapSize++;
    this.heap[at] = slot;
    this.heapPos[slot] = at;
    this.siftUp(at);
  }
  protected touch(slot: number): void {
    this.freq[slot]!++;
    this.priority[slot] = this.age + this.freq[slot]!;
    this.lastUse[slot] = ++this.clock;
    this.siftDown(this.heapPos[slot]!); // priority and recency only grow
  }
  protected evictOne(): void {
    const victim = this.heap[0]!;
    this.age = this.priority[victim]!;
    this.evict(victim);
  }
  protected detach(slot: number): void {
    const at = this.heapPos[slot]!;
    const last = this.heap[--this.heapSize]!;
    if (last === slot) return;
    this.heap[at] = last;
    this.heapPos[last] = at;
    this.siftDown(at);
    this.siftUp(this.heapPos[last]!);
  }

  private less(a: number, b: number): boolean {
    const pa = this.priority[a]!;
    const pb = this.priority[b]!;
    return pa < pb || (pa === pb && this.lastUse[a]! < this.lastUse[b]!);
  }
  private siftUp(at: number): void {
    const heap = this.heap;
    const slot = heap[at]!;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = heap[parentAt]!;
      if (!this.less(slot, parent)) break;
      heap[at] = parent;
      this.heapPos[parent] = at;
      at = parentAt;
    }
    heap[at] = slot;
    this.heapPos[slot] = at;
  }
  private siftDown(at: number): void {
    const heap = this.heap;
    const size = this.heapSize;
    const slot = heap[at]!;
    while (true) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (child + 1 < size && this.less(heap[child + 1]!, heap[child]!)) child++;
      if (!this.less(heap[child]!, slot)) break;
      heap[at] = heap[child]!;
      this.heapPos[heap[at]!] = at;
      at = child;
    }
    heap[at] = slot;
    this.heapPos[slot] = at;
  }
}

export function createLfu<K, V>(options: PolicyOptions<K, V>): CachePolicy<K, V> {
  return new LfuCache<K, V>(options);
}
