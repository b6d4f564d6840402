// Frequency estimation for TinyLFU: a count-min sketch of 4-bit-style saturating counters (capped
// at 15) behind a "doorkeeper" bloom filter that absorbs the first request of each key, with
// periodic aging (every `sampleSize` recorded requests all counters are halved and the doorkeeper
// is cleared), so the sketch tracks recent popularity. Einziger, Friedman, Manes, "TinyLFU: A
// Highly Efficient Cache Admission Policy", ACM Transactions on Storage 13(4), 2017.

const DEPTH = 4;
const MAX_COUNT = 15;
const SEEDS = [0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f] as const;

/** 32-bit hash of a cache key: integers are mixed directly, strings hashed with FNV-1a. */
export function hashKey(key: unknown): number {
  if (typeof key === 'number' && Number.isInteger(key)) {
    return mix32((key | 0) ^ Math.imul((key / 4294967296) | 0, 0x27d4eb2f));
  }
  const text = typeof key === 'string' ? key : String(key);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return mix32(h);
}

function mix32(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class FrequencySketch {
  private mask = -1;
  private counters = new Uint8Array(0);
  private doorkeeper = new Uint8Array(0);
  private doorMask = 0;
  private sampleSize = 0;
  private additions = 0;

  /** `expectedItems` sizes the sketch (a power of two, at least 16); 0 leaves it off until `ensureCapacity`. */
  constructor(expectedItems = 0) {
    if (expectedItems > 0) this.ensureCapacity(expectedItems);
  }

  /** Whether the sketch is sized yet (before that it records nothing and estimates 0). */
  get ready(): boolean {
    return this.mask >= 0;
  }

  /** Grows the sketch to track `items` keys (capped at 2^20 columns); growing starts it afresh. */
  ensureCapacity(items: number): void {
    let width = 16;
    while (width < items && width < 1 << 20) width *= 2;
    if (width <= this.mask + 1) return;
    this.mask = width - 1;
    this.counters = new Uint8Array(width * DEPTH);
    // Doorkeeper: a bloom filter of 8 bits per expected item, 2 probes.
    this.doorkeeper = new Uint8Array(width);
    this.doorMask = width * 8 - 1;
    this.sampleSize = 10 * width;
    this.additions = 0;
  }

  /** Records one request of the key (by hash). */
  increment(hash: number): void {
    if (this.mask < 0) return;
    if (this.doorkeeperAdd(hash)) {
      const { counters, mask } = this;
      for (let row = 0; row < DEPTH; row++) {
        const at = row * (mask + 1) + (mix32(hash ^ SEEDS[row]!) & mask);
        if (counters[at]! < MAX_COUNT) counters[at]!++;
      }
    }
    if (++this.additions >= this.sampleSize) this.age();
  }

  /** Estimated recent requests of the key (by hash). */
  frequency(hash: number): number {
    if (this.mask < 0) return 0;
    const { counters, mask } = this;
    let min = MAX_COUNT;
    for (let row = 0; row < DEPTH; row++) {
      const count = counters[row * (mask + 1) + (mix32(hash ^ SEEDS[row]!) & mask)]!;
      if (count < min) min = count;
    }
    return min + (this.doorkeeperHas(hash) ? 1 : 0);
  }

  private age(): void {
    const counters = this.counters;
    for (let i = 0; i < counters.length; i++) counters[i] = counters[i]! >> 1;
    this.doorkeeper.fill(0);
    this.additions = Math.floor(this.additions / 2);
  }

  private doorkeeperHas(hash: number): boolean {
    const a = hash & this.doorMask;
    const b = mix32(hash ^ 0x5bd1e995) & this.doorMask;
    return ((this.doorkeeper[a >>> 3]! >> (a & 7)) & 1) === 1 && ((this.doorkeeper[b >>> 3]! >> (b & 7)) & 1) === 1;
  }

  /** Sets the key's doorkeeper bits; returns whether they were all set already. */
  private doorkeeperAdd(hash: number): boolean {
    const present = this.doorkeeperHas(hash);
    if (!present) {
      const a = hash & this.doorMask;
      const b = mix32(hash ^ 0x5bd1e995) & this.doorMask;
      this.doorkeeper[a >>> 3]! |= 1 << (a & 7);
      this.doorkeeper[b >>> 3]! |= 1 << (b & 7);
    }
    return present;
  }
}
