import test from 'ava';
import { ConfigError } from '@cdn-lab/service-kit';
import { ORIGIN_ENV, originConfig, originConfigFromEnv, originConfigSchema, originEnv } from '../src/config.ts';

test('defaults are the ones docs/contracts.md lists', (t) => {
  const config = originConfigFromEnv({});
  t.like(config, {
    host: '127.0.0.1',
    port: 0,
    originId: 'origin-0',
    catalogueObjects: 10_000,
    catalogueSeed: 1,
    latencyMs: 0,
    latencyJitterMs: 0,
    errorRate: 0,
    ttlLongS: 86_400,
    ttlShortS: 10,
    staleWhileRevalidateS: 0,
    staleIfErrorS: 0,
    logLevel: 'info',
    adminToken: undefined,
    keepAliveTimeoutMs: 65_000,
    headersTimeoutMs: 10_000,
    requestTimeoutMs: 60_000,
    maxConnections: 4096,
  });
});

test('every config field has an env var', (t) => {
  t.deepEqual(Object.keys(ORIGIN_ENV).sort(), Object.keys(originConfigSchema.shape).sort());
});

test('env vars are read and coerced', (t) => {
  const config = originConfigFromEnv({
    PORT: '8080',
    ORIGIN_ID: 'origin-3',
    ERROR_RATE: '0.25',
    SIZE_SIGMA: '1.5',
    TTL_SHORT_S: '30',
    STALE_WHILE_REVALIDATE_S: '60',
    STALE_IF_ERROR_S: '600',
  });
  t.like(config, { port: 8080, originId: 'origin-3', errorRate: 0.25, sizeSigma: 1.5, ttlShortS: 30, staleWhileRevalidateS: 60, staleIfErrorS: 600 });
});

test('originEnv is the inverse of reading the environment', (t) => {
  const config = originConfig({ port: 9000, originId: 'origin-7', catalogueSeed: 99, errorRate: 0.1, sizeTailAlpha: 1.35, latencyJitterMs: 5, staleIfErrorS: 300 });
  t.deepEqual(originConfigFromEnv(originEnv(config)), config);
  t.deepEqual(originEnv({ latencyMs: 20, errorRate: 0.5 }), { LATENCY_MS: '20', ERROR_RATE: '0.5' });
});

const badValues: Array<[string, string]> = [
  ['CATALOGUE_OBJECTS', 'many'],
  ['CATALOGUE_OBJECTS', '0'],
  ['ERROR_RATE', '1.5'],
  ['PORT', '70000'],
  ['ORIGIN_ID', 'origin 0'],
  ['LATENCY_MS', '-1'],
  ['LOG_LEVEL', 'loud'],
  ['CATALOGUE_SEED', '1.5'],
  ['STALE_WHILE_REVALIDATE_S', '-5'],
  ['STALE_IF_ERROR_S', 'soon'],
  ['ADMIN_TOKEN', 'short'],
  ['HEADERS_TIMEOUT_MS', '0'],
  ['MAX_CONNECTIONS', 'none'],
];
for (const [variable, value] of badValues) {
  test(`a bad ${variable} (${JSON.stringify(value)}) is a ConfigError naming it`, (t) => {
    const error = t.throws(() => originConfigFromEnv({ [variable]: value }), { instanceOf: ConfigError });
    t.regex(error.message, new RegExp(`${variable}: `));
    t.is(error.issues.length, 1);
  });
}

test('min size above max size names SIZE_MIN_BYTES', (t) => {
  const error = t.throws(() => originConfigFromEnv({ SIZE_MIN_BYTES: '5000', SIZE_MAX_BYTES: '4000' }), { instanceOf: ConfigError });
  t.regex(error.message, /SIZE_MIN_BYTES: .*SIZE_MAX_BYTES/);
});

test('a header timeout longer than the request timeout names HEADERS_TIMEOUT_MS', (t) => {
  const error = t.throws(() => originConfigFromEnv({ HEADERS_TIMEOUT_MS: '70000', REQUEST_TIMEOUT_MS: '60000' }), { instanceOf: ConfigError });
  t.regex(error.message, /HEADERS_TIMEOUT_MS: must be <= REQUEST_TIMEOUT_MS/);
});
