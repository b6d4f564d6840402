// The cache store's own bookkeeping: byte budget through the policy, Vary variants, tag index, purge.
import test from 'ava';
import { CacheStore } from '../src/cache-store.ts';
import type { RemovalReason } from '../src/policies/types.ts';
import { buildStoredResponse } from '../src/stored-response.ts';

function response(path: string, options: { size?: number; vary?: string; requestHeaders?: Record<string, string>; tags?: string } = {}) {
  return buildStoredResponse({
    primaryKey: path,
    requestHeaders: options.requestHeaders ?? {},
    requestDirectives: new Map(),
    method: 'GET',
    status: 200,
    headers: { 'cache-control': 'max-age=60', ...(options.vary ? { vary: options.vary } : {}), ...(options.tags ? { 'surrogate-key': options.tags } : {}) },
    body: Buffer.alloc(options.size ?? 10),
    requestTime: 0,
    responseTime: 0,
    via: 'edge-test',
    negativeTtlMs: 0,
  });
}

test('entries are charged body + header bytes and the policy keeps the sum within capacity', (t) => {
  const removed: RemovalReason[] = [];
  const store = new CacheStore({ policy: 'lru', capacityBytes: 500, onRemove: (reason) => removed.push(reason) });
  const entry = response('/a', { size: 100 });
  t.true(entry.size > 100);
  t.true(store.put(entry));
  t.is(store.bytes, entry.size);
  for (let i = 0; i < 10; i++) {
    store.put(response(`/b${i}`, { size: 100 }));
    t.true(store.bytes <= 500);
  }
  t.true(removed.includes('evict'));
  t.false(store.put(response('/huge', { size: 1000 })));
  t.is(store.lookup('/huge', {}), undefined);
});

test('Vary variants: lookup selects by request headers; new Vary names replace old variants', (t) => {
  const store = new CacheStore({ policy: 'lru', capacityBytes: 1_000_000 });
  store.put(response('/v', { vary: 'accept-encoding', requestHeaders: { 'accept-encoding': 'gzip' } }));
  store.put(response('/v', { vary: 'accept-encoding', requestHeaders: { 'accept-encoding': 'br' } }));
  t.is(store.count, 2);
  t.truthy(store.lookup('/v', { 'accept-encoding': 'gzip' }));
  t.truthy(store.lookup('/v', { 'accept-encoding': 'br' }));
  t.is(store.lookup('/v', { 'accept-encoding': 'zstd' }), undefined);
  t.true(store.hasUrl('/v'));
  store.put(response('/v', { vary: 'accept-language', requestHeaders: { 'accept-language': 'en' } }));
  t.is(store.count, 1);
  t.is(store.lookup('/v', { 'accept-encoding': 'gzip' }), undefined);
  t.truthy(store.lookup('/v', { 'accept-language': 'en' }));
  store.put(response('/v'));
  t.is(store.count, 1);
  t.truthy(store.lookup('/v', {}));
  t.is(store.invalidateUrl('/v'), 1);
  t.false(store.hasUrl('/v'));
});

test('tags follow entries out of the cache, and purge by tag/prefix/url counts what it touched', (t) => {
  const store = new CacheStore({ policy: 'lru', capacityBytes: 1_000_000 });
  store.put(response('/p/1', { tags: 'a b' }));
  store.put(response('/p/2', { tags: 'b' }));
  store.put(response('/q/1', { tags: 'c' }));
  t.is(store.purge({ tag: 'b' }, true), 2);
  t.true(store.lookup('/p/1', {})?.invalidated);
  t.is(store.count, 3);
  store.invalidateUrl('/p/1');
  t.is(store.purge({ tag: 'a' }, false), 0, 'the removed entry left the tag index');
  t.is(store.purge({ prefix: '/p/' }, false), 1);
  t.is(store.purge({ url: '/q/1' }, false), 1);
  t.is(store.count, 0);
});
