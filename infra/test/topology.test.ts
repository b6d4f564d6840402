import test from 'ava';
import { ConfigError } from '@cdn-lab/service-kit';
import { parseTopology } from '../src/topology.ts';
import { parseBytes, parseDurationMs } from '../src/units.ts';

test('an empty topology gets every default', (t) => {
  const topology = parseTopology({});
  t.is(topology.name, 'lab');
  t.is(topology.origin.count, 1);
  t.is(topology.edges.count, 2);
  t.is(topology.edges.policy, 'lru');
  t.is(topology.edges.cacheBytes, 64 * 1024 * 1024);
  t.is(topology.balancer.algorithm, 'round-robin');
});

test('byte sizes accept units', (t) => {
  t.is(parseTopology({ edges: { cacheBytes: '8MiB' } }).edges.cacheBytes, 8 * 1024 * 1024);
  t.is(parseBytes('1.5 KB'), 1500);
  t.is(parseBytes('12 parsecs'), undefined);
  t.is(parseDurationMs('2m'), 120_000);
  t.is(parseDurationMs('soon'), undefined);
});

test('invalid fields are named with the reason', (t) => {
  const error = t.throws(
    () => parseTopology({ edges: { count: 0, policy: 'mru', cacheBytes: '-3MiB' }, balancer: { algorithm: 'random' }, extra: 1 }),
    { instanceOf: ConfigError },
  );
  t.regex(error.message, /edges\.count: /);
  t.regex(error.message, /edges\.policy: unknown cache policy "mru"; valid policies: .*lru/);
  t.regex(error.message, /edges\.cacheBytes: expected a positive byte size/);
  t.regex(error.message, /balancer\.algorithm: /);
  t.regex(error.message, /extra/);
});

test('regions must add up to the edge count and have unique names', (t) => {
  const error = t.throws(
    () => parseTopology({ edges: { count: 3, regions: [{ name: 'a', count: 1 }, { name: 'a', count: 1 }] } }),
    { instanceOf: ConfigError },
  );
  t.regex(error.message, /edges\.regions: region counts add up to 2 but edges\.count is 3/);
  t.regex(error.message, /edges\.regions: region names must be unique/);
  t.is(parseTopology({ edges: { count: 2, regions: [{ name: 'a', count: 2, clientDelayMs: 9 }] } }).edges.regions![0]!.clientDelayMs, 9);
});

test('edges.software: the lab edge by default; each real cache server takes only the policies it has', (t) => {
  t.is(parseTopology({}).edges.software, 'cdn-lab');
  t.is(parseTopology({ edges: { software: 'squid', policy: 'gdsf' } }).edges.policy, 'gdsf');
  t.is(parseTopology({ edges: { software: 'trafficserver', policy: 'clfus' } }).edges.software, 'trafficserver');
  const wrongPolicy = t.throws(() => parseTopology({ edges: { software: 'nginx', policy: 's3fifo' } }), { instanceOf: ConfigError });
  t.regex(wrongPolicy.message, /edges\.policy: nginx has no replacement policy "s3fifo"; its policies: lru/);
  const labPolicyOnServer = t.throws(() => parseTopology({ edges: { software: 'cdn-lab', policy: 'gdsf' } }), { instanceOf: ConfigError });
  t.regex(labPolicyOnServer.message, /edges\.policy: unknown cache policy "gdsf"/);
  const unknown = t.throws(() => parseTopology({ edges: { software: 'haproxy' } }), { instanceOf: ConfigError });
  t.regex(unknown.message, /edges\.software: .*"cdn-lab"\|"nginx"\|"varnish"\|"squid"\|"trafficserver"/);
});

test('edges.software: settings a real cache server cannot honour are refused by name', (t) => {
  const error = t.throws(
    () =>
      parseTopology({
        origin: { count: 2 },
        edges: { software: 'varnish', coalescing: false, tiering: 'sharded', clientDelayMs: 5, storeSetCookie: true, maxObjects: 10 },
      }),
    { instanceOf: ConfigError },
  );
  t.regex(error.message, /edges\.coalescing: varnish always coalesces/);
  t.regex(error.message, /edges\.tiering: tiering "sharded" .* is only for the lab's own edge \(software: cdn-lab\), not varnish/);
  t.regex(error.message, /edges\.clientDelayMs: a simulated network delay is only for the lab's own edge/);
  t.regex(error.message, /edges\.storeSetCookie: /);
  t.regex(error.message, /edges\.maxObjects: /);
  t.regex(error.message, /origin\.count: edges with software varnish take one origin; got 2/);
  t.notThrows(() => parseTopology({ edges: { software: 'squid', coalescing: false, tiering: 'shield', shieldCacheBytes: '32MiB' } }));
});
