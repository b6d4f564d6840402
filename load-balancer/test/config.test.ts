import test from 'ava';
import { ConfigError } from '@cdn-lab/service-kit';
import { configSchema, lbEnv, LB_ENV, loadConfig } from '../src/config.ts';

const BACKENDS = 'edge-0=http://127.0.0.1:4001, edge-1=http://127.0.0.1:4002/';

test('defaults follow docs/contracts.md', (t) => {
  const config = loadConfig({ BACKENDS });
  t.like(config, {
    host: '127.0.0.1',
    port: 0,
    lbId: 'lb-0',
    algorithm: 'round-robin',
    healthIntervalMs: 1000,
    healthPath: '/healthz',
    healthUnhealthyThreshold: 1,
  });
  t.deepEqual(config.backends, [
    { id: 'edge-0', url: 'http://127.0.0.1:4001' },
    { id: 'edge-1', url: 'http://127.0.0.1:4002' },
  ]);
});

test('lbEnv renders variables that read back to the same config', (t) => {
  const config = loadConfig({ BACKENDS, LB_ALGORITHM: 'bounded-load', BOUNDED_LOAD_EPSILON: '0.5', LB_SEED: '9', PORT: '8080', DRAIN_GRACE_MS: '5000', METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' });
  const rendered = lbEnv(config);
  t.is(rendered.BACKENDS, 'edge-0=http://127.0.0.1:4001,edge-1=http://127.0.0.1:4002');
  t.is(rendered.LB_ALGORITHM, 'bounded-load');
  t.deepEqual(Object.keys(rendered).sort(), Object.values(LB_ENV).sort());
  t.deepEqual(loadConfig(rendered), config);
});

test('an unknown algorithm names LB_ALGORITHM and lists the valid ones', (t) => {
  const error = t.throws(() => loadConfig({ BACKENDS, LB_ALGORITHM: 'fastest' }), { instanceOf: ConfigError });
  t.regex(error.message, /LB_ALGORITHM: unknown algorithm "fastest"/);
  for (const name of ['round-robin', 'least-connections', 'power-of-two', 'consistent-hash', 'bounded-load']) {
    t.true(error.message.includes(name));
  }
});

test('bad BACKENDS entries are named one by one', (t) => {
  const error = t.throws(
    () => loadConfig({ BACKENDS: 'edge-0=http://127.0.0.1:1,edge-0=http://127.0.0.1:2,nourl,x=ftp://h,y=https://h' }),
    { instanceOf: ConfigError },
  );
  t.regex(error.message, /BACKENDS: id "edge-0" appears twice/);
  t.regex(error.message, /BACKENDS: "nourl" is not id=url/);
  t.regex(error.message, /BACKENDS: "ftp:\/\/h" \(of x\) is not an http\(s\) URL/);
  t.regex(error.message, /BACKENDS: .*https backends are not supported/);
  t.throws(() => loadConfig({}), { message: /BACKENDS: / });
  t.throws(() => loadConfig({ BACKENDS: ' , ' }), { message: /BACKENDS: needs at least one backend/ });
});

test('numeric and path variables are validated and named', (t) => {
  const error = t.throws(
    () => loadConfig({ BACKENDS, HEALTH_INTERVAL_MS: '0', PORT: 'http', BOUNDED_LOAD_EPSILON: '-1', HEALTH_PATH: 'healthz', HEALTH_UNHEALTHY_THRESHOLD: '1.5' }),
    { instanceOf: ConfigError },
  );
  for (const variable of ['HEALTH_INTERVAL_MS', 'PORT', 'BOUNDED_LOAD_EPSILON', 'HEALTH_PATH', 'HEALTH_UNHEALTHY_THRESHOLD']) {
    t.regex(error.message, new RegExp(`${variable}: `));
  }
});

test('the schema also parses typed input (numbers), as tests and the lab build it', (t) => {
  const config = configSchema.parse({ backends: 'a=http://127.0.0.1:1', healthIntervalMs: 50, algorithm: 'power-of-two' });
  t.is(config.healthIntervalMs, 50);
  t.is(config.algorithm, 'power-of-two');
});
