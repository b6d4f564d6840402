// W-TinyLFU: a small LRU "window" (1% of the space) in front of a main segmented LRU (20%
// probation, 80% protected). New objects enter the window; when the window overflows, its LRU
// entry (the candidate) competes with the main cache's victim (probation's LRU end): the candidate
// is admitted only if a TinyLFU frequency sketch (count-min + doorkeeper + aging, see sketch.ts)
// estimates it more popular, otherwise it is evicted. The window absorbs bursts, the sketch keeps
// one-hit wonders out of main. The sketch is sized as Caffeine does: lazily, by the object capacity
// or, under a byte budget, by the number of entries held. Einziger, Friedman, Manes, "TinyLFU: A Highly Efficient Cache
// Admission Policy", ACM Transactions on Storage 13(4), 2017; structure as in Caffeine's simulator.
import { FrequencySketch, hashKey } from './sketch.ts';
import { SlotCache, resized } from './slot-cache.ts';
import type { CachePolicy, PolicyOptions } from './types.ts';

export interface WTinyLfuOptions<K, V> extends PolicyOptions<K, V> {
  /** Share of the capacity given to the window LRU. */
  windowRatio?: number;
  /** Share of the main space given to the protected segment. */
  protectedRatio?: number;
}

const WINDOW = 0;
const PROBATION = 1;
const PROTECTED = 2;

class WTinyLfuCache<K, V> extends SlotCache<K, V> {
  readonly name = 'wtinylfu';
  private readonly lists: [number, number, number];
  private readonly listBytes = [0, 0, 0];
  private readonly windowCapacity: number;
  private readonly mainCapacity: number;
  private readonly protectedCapacity: number;
  private readonly sketch: FrequencySketch;
  private segment = new Uint8Array(this.sizes.length);

  constructor(options: WTinyLfuOptions<K, V>) {
    super(options);
    this.lists = [this.newList(), this.newList(), this.newList()];
    this.windowCapacity = Math.floor(options.capacityBytes * (options.windowRatio ?? 0.01));
    this.mainCapacity = options.capacityBytes - this.windowCapacity;
    this.protectedCapacity = Math.floor(this.mainCapacity * (options.protectedRatio ?? 0.8));
    // As Caffeine: the sketch starts once the cache is half full, sized by the object capacity
    // when there is one, else by the entries held (a byte budget says little about how many).
    this.sketch = new FrequencySketch();
  }

  override get(key: K): V | undefined {
    this.sketch.increment(hashKey(key));
    return super.get(key);
  }
  override access(key: K, size: number): boolean {
    this.sketch.increment(hashKey(key));
    return super.access(key, size);
  }

  protected override grow(length: number): void {
    super.grow(length);
    this.segment = resized(this.segment, length);
  }
  protected place(slot: number): void {
    this.enter(WINDOW, slot);
    const limited = this.maxObjects < Number.MAX_SAFE_INTEGER;
    if (this.bytes >= this.capacityBytes / 2 || (limited && this.count >= this.maxObjects / 2)) {
      this.sketch.ensureCapacity(limited ? this.maxObjects : this.count);
    }
  }
  protected touch(slot: number): void {
    const segment = this.segment[slot]!;
    if (segment !== PROBATION) {
      this.moveToHead(this.lists[segment]!, slot);
      return;
    }
    this.leave(slot);
    this.enter(PROTECTED, slot);
    while (this.listBytes[PROTECTED]! > this.protectedCapacity) {
      const demoted = this.tail(this.lists[PROTECTED]);
      this.leave(demoted);
      this.enter(PROBATION, demoted);
    }
  }
  protected evictOne(incomingSize: number): void {
    const windowList = this.lists[WINDOW];
    const candidate = this.tail(windowList);
    const windowBytes = this.listBytes[WINDOW]!;
    const mainBytes = this.listBytes[PROBATION]! + this.listBytes[PROTECTED]!;
    if (candidate === windowList || windowBytes + incomingSize <= this.windowCapacity) {
      // The window has room for the newcomer: the main cache is over its share, shrink it.
      const victim = this.mainVictim();
      this.evict(victim === -1 ? candidate : victim);
      return;
    }
    const candidateSize = this.sizes[candidate]!;
    if (mainBytes + candidateSize <= this.mainCapacity) {
      this.leave(candidate);
      this.enter(PROBATION, candidate);
      return;
    }
    const victim = this.mainVictim();
    if (victim === -1) {
      this.evict(candidate);
      return;
    }
    const sketch = this.sketch;
    const candidateKey = this.slotKeys[candidate];
    const victimKey = this.slotKeys[victim];
    if (sketch.frequency(hashKey(candidateKey)) > sketch.frequency(hashKey(victimKey))) {
      this.evict(victim);
      this.leave(candidate);
      this.enter(PROBATION, candidate);
    } else {
      this.evict(candidate);
    }
  }
  protected detach(slot: number): void {
    this.leave(slot);
  }

  /** Probation's LRU entry, else protected's, else -1. */
  private mainVictim(): number {
    const probation = this.lists[PROBATION];
    if (this.tail(probation) !== probation) return this.tail(probation);
    const protectedList = this.lists[PROTECTED];
    return this.tail(protectedList) !== protectedList ? this.tail(protectedList) : -1;
  }
  private enter(segment: number, slot: number): void {
    this.segment[slot] = segment;
    this.listBytes[segment]! += this.sizes[slot]!;
    this.pushHead(this.lists[segment]!, slot);
  }
  private leave(slot: number): void {
    this.listBytes[this.segment[slot]!]! -= this.sizes[slot]!;
    this.unlink(slot);
  }
}

export function createWTinyLfu<K, V>(options: WTinyLfuOptions<K, V>): CachePolicy<K, V> {
  return new WTinyLfuCache<K, V>(options);
}
