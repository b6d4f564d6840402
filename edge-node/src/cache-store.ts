// The edge's cache: stored responses in a `CachePolicy` (the eviction policy decides what leaves)
// under a byte budget, plus the indexes HTTP needs on top: Vary variants per URL and purge tags.
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { isBestLanguage, keyWithout, variantKey } from './http/cache-key.ts';
import { flatGet } from './http/headers.ts';
import { createPolicy } from './policies/registry.ts';
import type { CachePolicy, RemovalReason } from './policies/types.ts';
import { isReleasable, ReleasableBodies, type BodyReclaimer } from './reclaim.ts';
import type { StoredResponse } from './stored-response.ts';

export interface CacheStoreOptions {
  policy: string;
  capacityBytes: number;
  maxObjects?: number | undefined;
  /** Told about every entry that leaves, with the policy's reason (for metrics). */
  onRemove?: (reason: RemovalReason, entry: StoredResponse) => void;
  /** Told the bytes of every evicted body left to the garbage collector (those without pages of their own). */
  reclaimer?: BodyReclaimer;
}

export type PurgeSelector = { url: string } | { prefix: string } | { tag: string };

interface VariantSet {
  /** The Vary header names of the latest stored variant; variants keyed by other names are dropped. */
  names: string[];
  keys: Set<string>;
  /** Vary names Accept-Language: a request that selects no variant exactly may take one by Content-Language. */
  byLanguage: boolean;
}

export class CacheStore {
  readonly policy: CachePolicy<string, StoredResponse>;
  /** Large bodies' pages, given back when no entry stores them and no response writes them. */
  readonly bodies = new ReleasableBodies();
  private readonly variants = new Map<string, VariantSet>();
  private readonly tags = new Map<string, Set<string>>();

  constructor(options: CacheStoreOptions) {
    this.policy = createPolicy<string, StoredResponse>(options.policy, {
      capacityBytes: options.capacityBytes,
      ...(options.maxObjects !== undefined ? { maxObjects: options.maxObjects } : {}),
      onRemove: (key, entry, _size, reason) => {
        this.unindex(key, entry);
        // Where an evicted body's memory goes: a body with pages of its own back to the system
        // once nothing holds it; any other to the next major GC, which the reclaimer asks for. A
        // replaced entry may share its body with the entry replacing it (a 304 refresh): not counted.
        this.bodies.drop(entry.body);
        if (reason !== 'replace' && !isReleasable(entry.body)) options.reclaimer?.released(entry.body.length);
        options.onRemove?.(reason, entry);
      },
    });
  }

  get bytes(): number {
    return this.policy.bytes;
  }

  get count(): number {
    return this.policy.count;
  }

  get capacityBytes(): number {
    return this.policy.capacityBytes;
  }

  /** The stored response selected for a request (§4.1), as a cache request (counts in policy stats). */
  lookup(primaryKey: string, headers: IncomingHttpHeaders): StoredResponse | undefined {
    const variants = this.variants.get(primaryKey);
    if (variants === undefined) return this.policy.get(primaryKey);
    const key = variantKey(primaryKey, variants.names, headers);
    if (variants.byLanguage && !this.policy.has(key)) return this.bestLanguageVariant(variants, key, headers) ?? this.policy.get(key);
    return this.policy.get(key);
  }

  /**
   * For a request whose Accept-Language selects no stored variant exactly: a variant that differs
   * from it only in Accept-Language and whose Content-Language the request ranks highest (RFC 9111
   * §4.1 lets a cache match selecting fields by their semantics). Only on a Vary miss.
   */
  private bestLanguageVariant(variants: VariantSet, requestKey: string, headers: IncomingHttpHeaders): StoredResponse | undefined {
    const acceptLanguage = headers['accept-language'];
    if (acceptLanguage === undefined) return undefined;
    const others = keyWithout(requestKey, 'accept-language');
    for (const key of variants.keys) {
      if (keyWithout(key, 'accept-language') !== others) continue;
      const entry = this.policy.peek(key);
      if (entry !== undefined && isBestLanguage(acceptLanguage, flatGet(entry.hitHeaders, 'content-language'))) return this.policy.get(key);
    }
    return undefined;
  }

  /** Whether some response for this URL is stored (so a lookup miss is a Vary miss). */
  hasUrl(primaryKey: string): boolean {
    return this.variants.has(primaryKey) || this.policy.has(primaryKey);
  }

  /** Keeps `body`'s memory until `res` closes: a response that may still write it. */
  lease(body: Buffer, res: ServerResponse): void {
    this.bodies.lease(body, res);
  }

  /**
   * Runs `work` with `body`'s memory held: a 304 carries the body into the refreshed entry, maybe
   * after the entry was evicted and after the request that started the work closed.
   */
  async holding<T>(body: Buffer, work: () => Promise<T>): Promise<T> {
    this.bodies.hold(body);
    try {
      return await work();
    } finally {
      this.bodies.drop(body);
    }
  }

  /** Stores a response; false when the policy did not admit it (e.g. larger than the budget). */
  put(entry: StoredResponse): boolean {
    const existing = this.variants.get(entry.primaryKey);
    const varies = entry.varyNames.length > 0;
    // A response with different (or no) Vary names replaces every variant stored under the old ones.
    if (existing && (!varies || existing.names.join() !== entry.varyNames.join())) this.deleteVariants(existing);
    if (varies && this.policy.has(entry.primaryKey)) this.policy.delete(entry.primaryKey);
    // Held before the policy sees it: a 304 refresh shares its body with the entry it replaces.
    this.bodies.hold(entry.body);
    if (!this.policy.set(entry.key, entry, entry.size)) {
      this.bodies.drop(entry.body);
      return false;
    }
    if (varies) {
      let set = this.variants.get(entry.primaryKey);
      if (set === undefined) {
        set = { names: entry.varyNames, keys: new Set(), byLanguage: entry.varyNames.includes('accept-language') };
        this.variants.set(entry.primaryKey, set);
      }
      set.keys.add(entry.key);
    }
    for (const tag of entry.tags) {
      let keys = this.tags.get(tag);
      if (keys === undefined) this.tags.set(tag, (keys = new Set()));
      keys.add(entry.key);
    }
    return true;
  }

  /** Policy keys of every stored variant of a URL. */
  keysOfUrl(primaryKey: string): string[] {
    const variants = this.variants.get(primaryKey);
    if (variants) return [...variants.keys];
    return this.policy.has(primaryKey) ? [primaryKey] : [];
  }

  /** Removes every variant of a URL (RFC 9111 §4.4 invalidation); returns how many went. */
  invalidateUrl(primaryKey: string): number {
    return this.removeKeys(this.keysOfUrl(primaryKey), false);
  }

  /**
   * Purges by URL, URL prefix or tag. Hard removes the entries; soft marks them stale, so they are
   * revalidated (or served stale where stale-while-revalidate allows) instead of refetched.
   */
  purge(selector: PurgeSelector, soft: boolean): number {
    let keys: string[];
    if ('url' in selector) keys = this.keysOfUrl(selector.url);
    else if ('tag' in selector) keys = [...(this.tags.get(selector.tag) ?? [])];
    else {
      keys = [];
      for (const key of this.policy.keys()) {
        const entry = this.policy.peek(key);
        if (entry?.primaryKey.startsWith(selector.prefix)) keys.push(key);
      }
    }
    return this.removeKeys(keys, soft);
  }

  clear(): void {
    this.policy.clear();
  }

  private removeKeys(keys: string[], soft: boolean): number {
    let removed = 0;
    for (const key of keys) {
      if (soft) {
        const entry = this.policy.peek(key);
        if (entry) {
          entry.invalidated = true;
          removed++;
        }
      } else if (this.policy.delete(key)) {
        removed++;
      }
    }
    return removed;
  }

  private deleteVariants(variants: VariantSet): void {
    for (const key of [...variants.keys]) this.policy.delete(key);
  }

  private unindex(key: string, entry: StoredResponse): void {
    const variants = this.variants.get(entry.primaryKey);
    if (variants?.keys.delete(key) && variants.keys.size === 0) this.variants.delete(entry.primaryKey);
    for (const tag of entry.tags) {
      const keys = this.tags.get(tag);
      if (keys?.delete(key) && keys.size === 0) this.tags.delete(tag);
    }
  }
}
