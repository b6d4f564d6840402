import test from 'ava';
import { parseTopology } from '../src/topology.ts';
import { planServices, resolveEnv } from '../src/plan.ts';
import { stopTimeoutFor } from '../src/aws/containers.ts';

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

test('regions give their edges their network delays and a region label', (t) => {
  const plans = planServices(
    parseTopology({
      edges: {
        count: 3,
        serveStale: false,
        storeSetCookie: true,
        regions: [
          { name: 'near', count: 1, clientDelayMs: 5, upstreamDelayMs: 80 },
          { name: 'far', count: 2, clientDelayMs: 60, upstreamDelayMs: 10 },
        ],
      },
    }),
  );
  const env = (id: string) => resolveEnv(plans.find((p) => p.id === id)!, urlOf);
  t.is(env('edge-0').CLIENT_DELAY_MS, '5');
  t.is(env('edge-0').UPSTREAM_DELAY_MS, '80');
  t.is(env('edge-2').CLIENT_DELAY_MS, '60');
  t.is(env('edge-2').SERVE_STALE, 'false');
  t.is(env('edge-2').STORE_SET_COOKIE, 'true');
  t.is(plans.find((p) => p.id === 'edge-1')!.labels.region, 'far');
});

test('without regions every edge gets the fleet-wide delays; the shield pays no client delay', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 2, tiering: 'shield', clientDelayMs: 20, upstreamDelayMs: 30 } }));
  const env = (id: string) => resolveEnv(plans.find((p) => p.id === id)!, urlOf);
  t.is(env('edge-1').CLIENT_DELAY_MS, '20');
  t.is(env('shield-0').CLIENT_DELAY_MS, '0');
  t.is(env('shield-0').UPSTREAM_DELAY_MS, '30');
  t.is(plans.find((p) => p.id === 'edge-1')!.labels.region, undefined);
});

test('origin stale windows reach the origin', (t) => {
  const env = resolveEnv(planServices(parseTopology({ origin: { shortTtlS: 2, staleWhileRevalidateS: 30, staleIfErrorS: 300 } }))[0]!, urlOf);
  t.is(env.TTL_SHORT_S, '2');
  t.is(env.STALE_WHILE_REVALIDATE_S, '30');
  t.is(env.STALE_IF_ERROR_S, '300');
});

test('every edge, shield included, gets the edge process settings; other services do not', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 2, tiering: 'shield' } }));
  for (const plan of plans) {
    const env = resolveEnv(plan, urlOf);
    if (plan.kind === 'edge') {
      t.is(env.NODE_OPTIONS, '--max-semi-space-size=8', plan.id);
      t.is(env.MALLOC_ARENA_MAX, '2', plan.id);
      t.is(env.MALLOC_MMAP_THRESHOLD_, '65536', plan.id);
    } else {
      t.is(env.NODE_OPTIONS, undefined, plan.id);
    }
  }
  t.is(plans.filter((plan) => plan.kind === 'edge').length, 3);
});

test('each service\'s drain grace covers its own longest request; stop timeouts give it that and a margin', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 1, upstreamTimeoutMs: 20_000, upstreamDelayMs: 50 } }));
  const grace = Object.fromEntries(plans.map((p) => [p.role, p.drainGraceMs]));
  t.deepEqual(grace, { origin: 11_000, edge: 21_050, balancer: 16_000 }); // LATENCY_MAX_MS, UPSTREAM_*, PROXY_TIMEOUT_MS (+ 1 s each)
  t.is(stopTimeoutFor(21_050), 27);
  t.is(stopTimeoutFor(300_000), 120, "Fargate's maximum");
});

test('edges.maxObjectBytes and maxRequestBodyBytes reach every edge as MAX_OBJECT_BYTES / MAX_REQUEST_BODY_BYTES; unset leaves the edge default', (t) => {
  const set = planServices(parseTopology({ edges: { count: 2, maxObjectBytes: '8MiB', maxRequestBodyBytes: '1MiB' } }));
  for (const id of ['edge-0', 'edge-1']) {
    const env = resolveEnv(set.find((p) => p.id === id)!, urlOf);
    t.is(env.MAX_OBJECT_BYTES, String(8 * 1024 * 1024));
    t.is(env.MAX_REQUEST_BODY_BYTES, String(1024 * 1024));
  }
  const unset = resolveEnv(planServices(parseTopology({})).find((p) => p.id === 'edge-0')!, urlOf);
  t.is(unset.MAX_OBJECT_BYTES, undefined);
  t.is(unset.MAX_REQUEST_BODY_BYTES, undefined);
});

test('real cache servers: the plan carries their settings, no edge env, one upstream (the origin, or the shield)', (t) => {
  const plans = planServices(parseTopology({ edges: { count: 2, software: 'squid', policy: 'lfuda', cacheBytes: '32MiB', tiering: 'shield', shieldCacheBytes: '64MiB', serveStale: false } }));
  const shield = plans.find((p) => p.role === 'shield')!;
  const edges = plans.filter((p) => p.role === 'edge');
  t.deepEqual(shield.cacheServer, { software: 'squid', cacheBytes: 64 * 1024 * 1024, policy: 'lfuda', coalescing: true, serveStale: false, maxObjectBytes: 4 * 1024 * 1024, upstreamTimeoutMs: 10_000 });
  t.deepEqual(shield.links, { UPSTREAM_URLS: ['origin-0'] });
  t.deepEqual(shield.env, {});
  for (const edge of edges) {
    t.is(edge.cacheServer?.cacheBytes, 32 * 1024 * 1024);
    t.deepEqual(edge.links, { UPSTREAM_URLS: ['shield-0'] });
    t.is(edge.labels.software, 'squid');
  }
  t.is(planServices(parseTopology({})).find((p) => p.role === 'edge')!.cacheServer, undefined);
});
