// A consistent-hash ring: nodes and keys are hashed onto the same 32-bit ring; a key belongs to the
// first node point at or after its hash, walking clockwise (Karger et al., "Consistent Hashing and
// Random Trees", STOC 1997). Each node owns many points ("virtual nodes", as in ketama and Dynamo)
// so shares even out; when a node leaves only its keys move. Shared by the balancer's
// consistent-hash algorithms, the edges' fleet sharding and the simulator, which must all place a
// key on the same node.

/**
 * 32-bit FNV-1a over the string's UTF-16 code units, finished with murmur3's fmix32 avalanche
 * (FNV alone clusters similar short strings such as `edge-1#17`). Much faster than md5 with the
 * same evenness of ring shares: `npx tsx service-kit/bench/hash.ts`, figures in load-balancer/README.md.
 */
export function hash32(input: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < input.length; i++) {
    h ^= input.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface HashRingOptions {
  /** Points per node; more points, more even shares, slower rebuilds. Default 160 (as ketama). */
  virtualNodes?: number;
  /** Hash for keys and points; default `hash32`. Every party sharing a ring must use the same. */
  hash?: (input: string) => number;
}

/** A hash ring of string node names (backend ids, peer URLs). Rebuilt lazily after add/remove. */
export class HashRing {
  readonly virtualNodes: number;
  private readonly hash: (input: string) => number;
  private readonly members = new Set<string>();
  private nodeList: string[] = [];
  private points = new Uint32Array(0);
  /** owners[i] is the index in nodeList of the node that owns points[i]. */
  private owners = new Uint32Array(0);
  private dirty = false;

  constructor(nodes: Iterable<string> = [], options: HashRingOptions = {}) {
    const virtualNodes = options.virtualNodes ?? 160;
    if (!Number.isInteger(virtualNodes) || virtualNodes < 1) {
      throw new TypeError(`virtualNodes must be a positive integer, got ${virtualNodes}`);
    }
    this.virtualNodes = virtualNodes;
    this.hash = options.hash ?? hash32;
    for (const node of nodes) this.add(node);
  }

  get size(): number {
    return this.members.size;
  }

  get nodes(): string[] {
    return [...this.members];
  }

  has(node: string): boolean {
    return this.members.has(node);
  }

  add(node: string): void {
    if (this.members.has(node)) return;
    this.members.add(node);
    this.dirty = true;
  }

  remove(node: string): boolean {
    const removed = this.members.delete(node);
    if (removed) this.dirty = true;
    return removed;
  }

  /** The node that owns `key`, or undefined when the ring is empty. */
  lookup(key: string): string | undefined {
    this.rebuildIfDirty();
    if (this.points.length === 0) return undefined;
    return this.nodeList[this.owners[this.startIndex(key)] as number];
  }

  /**
   * The first node in ring order from `key` that `accept` takes, or undefined. Each node is asked
   * at most once, in the order its keys would fall over to it.
   */
  find(key: string, accept: (node: string) => boolean): string | undefined {
    for (const node of this.walk(key)) if (accept(node)) return node;
    return undefined;
  }

  /** Up to `n` distinct nodes in ring order from `key`: the owner first, then its fallbacks. */
  lookupN(key: string, n: number): string[] {
    const result: string[] = [];
    if (n <= 0) return result;
    for (const node of this.walk(key)) {
      result.push(node);
      if (result.length >= n) break;
    }
    return result;
  }

  /** Every node once, in ring order starting at the owner of `key`. */
  *walk(key: string): Generator<string, void, undefined> {
    this.rebuildIfDirty();
    const total = this.points.length;
    if (total === 0) return;
    const nodeCount = this.nodeList.length;
    const seen = new Uint8Array(nodeCount);
    let found = 0;
    let index = this.startIndex(key);
    for (let step = 0; step < total && found < nodeCount; step++) {
      const owner = this.owners[index] as number;
      if (seen[owner] === 0) {
        seen[owner] = 1;
        found++;
        yield this.nodeList[owner] as string;
      }
      index = index + 1 === total ? 0 : index + 1;
    }
  }

  /** Index of the first point at or after hash(key), wrapping past the top of the ring. */
  private startIndex(key: string): number {
    const h = this.hash(key);
    const points = this.points;
    let lo = 0;
    let hi = points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((points[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    return lo === points.length ? 0 : lo;
  }

  private rebuildIfDirty(): void {
    if (!this.dirty) return;
    this.dirty = false;
    // Sorted by name so the ring does not depend on insertion order; ties on a point go to the
    // smaller name, so every process builds exactly the same ring from the same set.
    this.nodeList = [...this.members].sort();
    const count = this.nodeList.length * this.virtualNodes;
    const hashes = new Uint32Array(count);
    const owners = new Uint32Array(count);
    let i = 0;
    this.nodeList.forEach((node, owner) => {
      for (let v = 0; v < this.virtualNodes; v++) {
        hashes[i] = this.hash(`${node}#${v}`);
        owners[i] = owner;
        i++;
      }
    });
    const order = Array.from({ length: count }, (_, k) => k);
    order.sort((a, b) => (hashes[a] as number) - (hashes[b] as number) || (owners[a] as number) - (owners[b] as number));
    this.points = Uint32Array.from(order, (k) => hashes[k] as number);
    this.owners = Uint32Array.from(order, (k) => owners[k] as number);
  }
}
