// A FIFO of remembered keys with their sizes (ghost entries: keys only, no values) that also
// supports removing any key. Removal is lazy: the key leaves the map at once and its ring cell is
// skipped when it reaches the old end, so every operation is O(1) amortised. (A Map alone would do
// FIFO order, but V8 walks over deleted entries to find the first one, which is O(n) per pop.)
export class GhostQueue<K> {
  private readonly position = new Map<K, number>();
  private ringKeys: (K | undefined)[] = new Array(64);
  private ringSizes = new Float64Array(64);
  /** Positions grow forever; a cell is position & mask. */
  private head = 0;
  private tail = 0;
  bytes = 0;

  get size(): number {
    return this.position.size;
  }

  has(key: K): boolean {
    return this.position.has(key);
  }

  /** Removes the key if present; returns its size, or -1. */
  take(key: K): number {
    const at = this.position.get(key);
    if (at === undefined) return -1;
    this.position.delete(key);
    const size = this.ringSizes[at & (this.ringSizes.length - 1)]!;
    this.bytes -= size;
    return size;
  }

  /** Appends a key at the new end (it must not be present). */
  push(key: K, size: number): void {
    if (this.head - this.tail === this.ringSizes.length) this.growRing();
    const cell = this.head & (this.ringSizes.length - 1);
    this.ringKeys[cell] = key;
    this.ringSizes[cell] = size;
    this.position.set(key, this.head++);
    this.bytes += size;
  }

  /** Forgets the oldest key still present. */
  dropOldest(): void {
    const mask = this.ringSizes.length - 1;
    while (this.tail < this.head) {
      const at = this.tail++;
      const key = this.ringKeys[at & mask] as K;
      this.ringKeys[at & mask] = undefined;
      if (this.position.get(key) === at) {
        this.position.delete(key);
        this.bytes -= this.ringSizes[at & mask]!;
        return;
      }
    }
  }

  clear(): void {
    this.position.clear();
    this.ringKeys.fill(undefined);
    this.head = this.tail = 0;
    this.bytes = 0;
  }

  /** Makes room: live cells are re-homed from position 0 in a ring twice their number (or more). */
  private growRing(): void {
    const oldMask = this.ringSizes.length - 1;
    let length = 64;
    while (length < this.position.size * 2 + 2) length *= 2;
    const keys: (K | undefined)[] = new Array(length);
    const sizes = new Float64Array(length);
    let at = 0;
    for (let old = this.tail; old < this.head; old++) {
      const key = this.ringKeys[old & oldMask] as K;
      if (this.position.get(key) !== old) continue; // a lazily removed cell
      keys[at] = key;
      sizes[at] = this.ringSizes[old & oldMask]!;
      this.position.set(key, at++);
    }
    this.ringKeys = keys;
    this.ringSizes = sizes;
    this.tail = 0;
    this.head = at;
  }
}
