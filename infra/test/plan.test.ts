import test from 'ava';
import { parseTopology } from '../src/topology.ts';
import { planServices, resolveEnv } from '../src/plan.ts';

const urlOf = (id: string) => `http://${id}:8080`;

test('plan lists origins, edges and the balancer in start order', (t) => {
  const plans = planServices(parseTopology({ origin: { count: 2 }, edges: { count: 3, policy: 'lru', cacheBytes: '8MiB' } }));
  t.deepEqual(
    plans.map((p) => p.id),
    ['origin-0', 'origin-1', 'edge-0', 'edge-1', 'edge-2', 'lb-0'],
  );
  const edge = plans.find((p) => p.id === 'edge-1')!;
  const env = resolveEnv(edge, urlOf);
  t.is(env.UPSTREAM_URLS, 'http://origin-0:8080,http://origin-1:8080');
  t.is(env.CACHE_BYTES, String(8 * 1024 * 1024));
  t.is(env.CACHE_POLICY, 'lru');
  t.is(env.PARENT_URL, undefined);
  const lb = resolveEnv(plans.at(-1)!, urlOf);
  t.is(lb.BACKENDS, 'edge-0=http://edge-0:8080,edge-1=http://edge-1:8080,edge-2=http://edge-2:8080');
});

test('shield tiering puts one shield edge between the edges and the origins', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 2, tiering: 'shield', shieldCacheBytes: '32MiB' } }));
  const shield = plans.find((p) => p.role === 'shield')!;
  t.is(shield.id, 'shield-0');
  t.is(resolveEnv(shield, urlOf).CACHE_BYTES, String(32 * 1024 * 1024));
  t.true(plans.indexOf(shield) < plans.findIndex((p) => p.id === 'edge-0'));
  t.is(resolveEnv(plans.find((p) => p.id === 'edge-0')!, urlOf).PARENT_URL, 'http://shield-0:8080');
});

test('sharded tiering gives every edge the fleet and itself', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 2, tiering: 'sharded' } }));
  const env = resolveEnv(plans.find((p) => p.id === 'edge-1')!, urlOf);
  t.is(env.PEER_URLS, 'edge-0=http://edge-0:8080,edge-1=http://edge-1:8080');
  t.is(env.SELF_URL, 'http://edge-1:8080');
});
