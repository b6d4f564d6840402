import test from 'ava';
import { ConfigError } from '@cdn-lab/service-kit';
import { EDGE_ENV, edgeConfigFromEnv, edgeEnv } from '../src/config.ts';

test('defaults per docs/contracts.md', (t) => {
  const config = edgeConfigFromEnv({ UPSTREAM_URLS: 'http://127.0.0.1:3000, http://127.0.0.1:3001' });
  t.like(config, { host: '127.0.0.1', port: 0, edgeId: 'edge-0', cachePolicy: 'lru', cacheBytes: 67108864, coalescing: true, upstreamTimeoutMs: 10000 });
  t.like(config, { serveStale: true, storeSetCookie: false, clientDelayMs: 0, upstreamDelayMs: 0, accessLogHitSample: 10 });
  t.deepEqual(config.upstreamUrls, ['http://127.0.0.1:3000', 'http://127.0.0.1:3001']);
  t.is(config.adminToken, undefined);
  t.deepEqual(config.peerUrls, []);
});

test('edgeEnv is the inverse of edgeConfigFromEnv', (t) => {
  const config = edgeConfigFromEnv({
    UPSTREAM_URLS: 'http://127.0.0.1:3000',
    PEER_URLS: 'edge-a=http://127.0.0.1:4001,http://127.0.0.1:4002/',
    SELF_URL: 'http://127.0.0.1:4002',
    COALESCING: 'false',
    CACHE_MAX_OBJECTS: '100',
    ADMIN_TOKEN: 'secret-token',
  });
  t.deepEqual(config.peerUrls, [{ id: 'edge-a', url: 'http://127.0.0.1:4001' }, { id: 'http://127.0.0.1:4002', url: 'http://127.0.0.1:4002' }]);
  t.deepEqual(edgeConfigFromEnv(edgeEnv(config)), config);
  t.true(Object.values(edgeEnv(config)).every((v) => typeof v === 'string'));
  t.is(Object.keys(EDGE_ENV).length, new Set(Object.values(EDGE_ENV)).size);
});

test('bad values are ConfigErrors naming the env var', (t) => {
  const error = t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'ftp://x', CACHE_POLICY: 'mru', CACHE_BYTES: '0', COALESCING: 'maybe', ACCESS_LOG_HIT_SAMPLE: '0', STORE_SET_COOKIE: 'sometimes' }), { instanceOf: ConfigError });
  t.regex(error.message, /UPSTREAM_URLS: /);
  t.regex(error.message, /CACHE_POLICY: unknown cache policy; valid policies: .*lru/);
  t.regex(error.message, /CACHE_BYTES: /);
  t.regex(error.message, /COALESCING: /);
  t.regex(error.message, /ACCESS_LOG_HIT_SAMPLE: /);
  t.regex(error.message, /STORE_SET_COOKIE: /);
});

test('CACHE_POLICY accepts every registered policy, also behind the second-hit filter', (t) => {
  t.is(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', CACHE_POLICY: 'second-hit+lru' }).cachePolicy, 'second-hit+lru');
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', CACHE_POLICY: 'second-hit+nope' }), { message: /CACHE_POLICY: / });
});

test('PEER_URLS needs SELF_URL, and SELF_URL must be one of them', (t) => {
  t.regex(t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', PEER_URLS: 'http://a,http://b' })).message, /SELF_URL: required/);
  t.regex(t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', PEER_URLS: 'http://a,http://b', SELF_URL: 'http://c' })).message, /SELF_URL: must be one of/);
  t.notThrows(() => edgeConfigFromEnv({ PARENT_URL: 'http://parent:4000' }));
});

test('MAX_OBJECT_BYTES and MAX_REQUEST_BODY_BYTES: defaults 4 MiB and 16 MiB, bad values name the variable', (t) => {
  t.like(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' }), { maxObjectBytes: 4 * 1024 * 1024, maxRequestBodyBytes: 16 * 1024 * 1024 });
  t.like(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', MAX_OBJECT_BYTES: '1048576', MAX_REQUEST_BODY_BYTES: '1024' }), { maxObjectBytes: 1048576, maxRequestBodyBytes: 1024 });
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', MAX_OBJECT_BYTES: '4MiB' }), { instanceOf: ConfigError, message: /MAX_OBJECT_BYTES/ });
  t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', MAX_REQUEST_BODY_BYTES: '0' }), { instanceOf: ConfigError, message: /MAX_REQUEST_BODY_BYTES/ });
});

test('RANGE_SLICE_BYTES: default 1 MiB, 0 turns partial storage off, bad values name the variable', (t) => {
  t.is(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o' }).rangeSliceBytes, 1024 * 1024);
  t.is(edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', RANGE_SLICE_BYTES: '0' }).rangeSliceBytes, 0);
  for (const value of ['-1', '1.5', '1MiB']) {
    t.throws(() => edgeConfigFromEnv({ UPSTREAM_URLS: 'http://o', RANGE_SLICE_BYTES: value }), { instanceOf: ConfigError, message: /RANGE_SLICE_BYTES/ }, value);
  }
});
