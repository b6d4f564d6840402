import test from 'ava';
import { z } from 'zod';
import { ConfigError, configFromEnv, env, parseOrThrow, renderEnv } from '../src/config.ts';

const schema = z.object({ port: env.port().default(0), upstream: env.url(), verbose: env.bool().default(false) });
const names = { port: 'PORT', upstream: 'UPSTREAM_URL', verbose: 'VERBOSE' } as const;

test('configFromEnv applies defaults and coerces values', (t) => {
  const config = configFromEnv(schema, names, { UPSTREAM_URL: 'http://127.0.0.1:8080', VERBOSE: '1' });
  t.deepEqual(config, { port: 0, upstream: 'http://127.0.0.1:8080', verbose: true });
});

test('configFromEnv names the environment variable that is wrong', (t) => {
  const error = t.throws(() => configFromEnv(schema, names, { PORT: '70000', UPSTREAM_URL: 'ftp://x' }), {
    instanceOf: ConfigError,
  });
  t.regex(error.message, /PORT: /);
  t.regex(error.message, /UPSTREAM_URL: /);
  t.is(error.issues.length, 2);
});

test('parseOrThrow names the nested path', (t) => {
  const nested = z.object({ edges: z.object({ count: z.number().int().min(1) }) });
  const error = t.throws(() => parseOrThrow(nested, { edges: { count: 0 } }, 'topology'), { instanceOf: ConfigError });
  t.regex(error.message, /invalid topology/);
  t.regex(error.message, /edges\.count: /);
});

test('renderEnv is the inverse of configFromEnv, with formatters for structured fields', (t) => {
  const config = configFromEnv(schema, names, { PORT: '8080', UPSTREAM_URL: 'http://127.0.0.1:1', VERBOSE: 'true' });
  const rendered = renderEnv<typeof config>(config, names);
  t.deepEqual(rendered, { PORT: '8080', UPSTREAM_URL: 'http://127.0.0.1:1', VERBOSE: 'true' });
  t.deepEqual(configFromEnv(schema, names, rendered), config);
  t.deepEqual(renderEnv<{ port: number; upstream: string; verbose: boolean }>({ port: 1 }, names), { PORT: '1' });
  t.deepEqual(renderEnv<{ port: number; upstream: string; verbose: boolean }>({ upstream: 'x' }, names, { upstream: (u) => `<${u}>` }), { UPSTREAM_URL: '<x>' });
});
