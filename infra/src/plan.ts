// From a topology to the list of services to run, backend-neutral. Each backend (local processes,
// Docker containers, AWS instances) supplies only addressing: `urlOf(id)` turns a service id into
// the URL others reach it at. Everything else a service needs is decided here, once.
import { originConfigSchema, originDrainGraceMs, originEnv, ORIGIN_ENV } from '@cdn-lab/origin/config';
import { edgeConfigSchema, edgeDrainGraceMs, edgeProcessEnv, EDGE_ENV } from '@cdn-lab/edge-node/config';
import { configSchema as lbConfigSchema, LB_ENV, lbDrainGraceMs } from '@cdn-lab/load-balancer/config';
import type { Region, Topology } from './topology.ts';
import { serviceIds } from './topology.ts';
import type { CacheServerSoftware } from './render/cache-server.ts';

export type ServiceKind = 'origin' | 'edge' | 'balancer';
export type ServiceRole = 'origin' | 'edge' | 'shield' | 'balancer';

/** The program each kind runs: its workspace folder and entry point. */
export const SERVICE_PROGRAMS: Record<ServiceKind, { workspace: string; entry: string }> = {
  origin: { workspace: 'origin', entry: 'origin/src/main.ts' },
  edge: { workspace: 'edge-node', entry: 'edge-node/src/main.ts' },
  balancer: { workspace: 'load-balancer', entry: 'load-balancer/src/main.ts' },
};

/** An edge that is a real cache server: its software and the settings its renderer takes. */
export interface CacheServerPlan {
  software: CacheServerSoftware;
  cacheBytes: number;
  policy: string;
  coalescing: boolean;
  serveStale: boolean;
  maxObjectBytes: number;
  upstreamTimeoutMs: number;
}

export interface ServicePlan {
  id: string;
  kind: ServiceKind;
  role: ServiceRole;
  /** Environment that does not depend on where other services live. */
  env: Record<string, string>;
  /** Environment whose values are other services' URLs, by id: resolved per backend. */
  links: Record<string, string[]>;
  /** Low-cardinality labels for scrape targets and log streams. */
  labels: Record<string, string>;
  /**
   * How long the service may take to drain after SIGTERM (its DRAIN_GRACE_MS default for this
   * config): a backend waits at least this long before it kills the process.
   */
  drainGraceMs: number;
  /**
   * Set when this edge is a real cache server (topology `edges.software`): it runs that program,
   * configured by its renderer, with `links.UPSTREAM_URLS` as its one upstream; `env` is empty.
   */
  cacheServer?: CacheServerPlan;
}

/** Services in start order: every service's links point to services before it (sharded peers excepted). */
export function planServices(topology: Topology): ServicePlan[] {
  const { origin, edges, balancer } = topology;
  const plans: ServicePlan[] = [];
  const originIds = Array.from({ length: origin.count }, (_, i) => serviceIds.origin(i));
  for (const id of originIds) {
    plans.push({
      id,
      kind: 'origin',
      role: 'origin',
      env: originEnv({
        originId: id,
        catalogueObjects: origin.objects,
        catalogueSeed: origin.seed,
        latencyDistribution: origin.latency,
        latencyMs: origin.latencyMs,
        latencyJitterMs: origin.jitterMs,
        latencySigma: origin.sigma,
        latencyParetoAlpha: origin.paretoAlpha,
        errorRate: origin.errorRate,
        ttlShortS: origin.shortTtlS,
        staleWhileRevalidateS: origin.staleWhileRevalidateS,
        staleIfErrorS: origin.staleIfErrorS,
      }),
      links: {},
      labels: { service: 'origin', origin: id },
      drainGraceMs: originDrainGraceMs({ latencyMaxMs: originConfigSchema.shape.latencyMaxMs.parse(undefined) }),
    });
  }
  const envOfEdge = (id: string, cacheBytes: number, delays: { clientDelayMs: number; upstreamDelayMs: number }): Record<string, string> =>
    edgeProcessEnv({
      edgeId: id,
      cachePolicy: edges.policy,
      cacheBytes,
      ...(edges.maxObjects ? { cacheMaxObjects: edges.maxObjects } : {}),
      ...(edges.maxObjectBytes ? { maxObjectBytes: edges.maxObjectBytes } : {}),
      ...(edges.maxRequestBodyBytes ? { maxRequestBodyBytes: edges.maxRequestBodyBytes } : {}),
      coalescing: edges.coalescing,
      upstreamTimeoutMs: edges.upstreamTimeoutMs,
      serveStale: edges.serveStale,
      storeSetCookie: edges.storeSetCookie,
      clientDelayMs: delays.clientDelayMs,
      upstreamDelayMs: delays.upstreamDelayMs,
    });
  const edgeDrain = (delays: { upstreamDelayMs: number }) => edgeDrainGraceMs({ upstreamDelayMs: delays.upstreamDelayMs, upstreamTimeoutMs: edges.upstreamTimeoutMs });
  const { software } = edges;
  const cacheServerOf = (cacheBytes: number): Pick<ServicePlan, 'cacheServer'> =>
    software === 'cdn-lab'
      ? {}
      : {
          cacheServer: {
            software,
            cacheBytes,
            policy: edges.policy,
            coalescing: edges.coalescing,
            serveStale: edges.serveStale,
            maxObjectBytes: edges.maxObjectBytes ?? edgeConfigSchema.shape.maxObjectBytes.parse(undefined),
            upstreamTimeoutMs: edges.upstreamTimeoutMs,
          },
        };
  let edgeUpstream: Record<string, string[]> = { UPSTREAM_URLS: originIds };
  if (edges.tiering === 'shield') {
    const id = serviceIds.shield();
    plans.push({
      id,
      kind: 'edge',
      role: 'shield',
      // The shield's clients are the edges, whose UPSTREAM_DELAY_MS already models that hop.
      env: software === 'cdn-lab' ? envOfEdge(id, edges.shieldCacheBytes ?? edges.cacheBytes, { clientDelayMs: 0, upstreamDelayMs: edges.upstreamDelayMs }) : {},
      links: { UPSTREAM_URLS: originIds },
      labels: { service: 'edge', edge: id, policy: edges.policy, tier: 'shield', ...(software === 'cdn-lab' ? {} : { software }) },
      drainGraceMs: edgeDrain(edges),
      ...cacheServerOf(edges.shieldCacheBytes ?? edges.cacheBytes),
    });
    // A cache server has one upstream: its parent.
    edgeUpstream = software === 'cdn-lab' ? { UPSTREAM_URLS: originIds, PARENT_URL: [id] } : { UPSTREAM_URLS: [id] };
  }
  const edgeIds = Array.from({ length: edges.count }, (_, i) => serviceIds.edge(i));
  const regionOf = edgeRegions(topology);
  for (const [i, id] of edgeIds.entries()) {
    const region = regionOf[i];
    plans.push({
      id,
      kind: 'edge',
      role: 'edge',
      env: software === 'cdn-lab' ? envOfEdge(id, edges.cacheBytes, region ?? edges) : {},
      links: edges.tiering === 'sharded' ? { ...edgeUpstream, PEER_URLS: edgeIds, SELF_URL: [id] } : edgeUpstream,
      labels: { service: 'edge', edge: id, policy: edges.policy, tier: 'edge', ...(software === 'cdn-lab' ? {} : { software }), ...(region ? { region: region.name } : {}) },
      drainGraceMs: edgeDrain(region ?? edges),
      ...cacheServerOf(edges.cacheBytes),
    });
  }
  const balancerId = serviceIds.balancer();
  plans.push({
    id: balancerId,
    kind: 'balancer',
    role: 'balancer',
    env: {
      [LB_ENV.lbId]: balancerId,
      [LB_ENV.algorithm]: balancer.algorithm,
      [LB_ENV.healthIntervalMs]: String(balancer.healthIntervalMs),
      [LB_ENV.healthTimeoutMs]: String(balancer.healthTimeoutMs),
      [LB_ENV.healthUnhealthyThreshold]: String(balancer.unhealthyThreshold),
    },
    links: { [LB_ENV.backends]: edgeIds },
    labels: { service: 'balancer', lb: balancerId, algorithm: balancer.algorithm },
    drainGraceMs: lbDrainGraceMs({ proxyTimeoutMs: lbConfigSchema.shape.proxyTimeoutMs.parse(undefined) }),
  });
  return plans;
}

/** The region of each client-facing edge, in edge order (empty without regions). */
export function edgeRegions(topology: Topology): Region[] {
  return (topology.edges.regions ?? []).flatMap((region) => Array.from({ length: region.count }, () => region));
}

/** The full environment of one service, given how this backend addresses the others. */
export function resolveEnv(plan: ServicePlan, urlOf: (id: string) => string): Record<string, string> {
  const env = { ...plan.env };
  for (const [name, ids] of Object.entries(plan.links)) {
    // The balancer names its backends and the edges their peers (`id=url`): metrics carry edge ids,
    // and a sharded fleet's hash ring is placed by id, the same ring in every backend.
    const named = name === LB_ENV.backends || name === 'PEER_URLS';
    env[name] = ids.map((id) => (named ? `${id}=${urlOf(id)}` : urlOf(id))).join(',');
  }
  return env;
}

/** The operators' settings of a deployment, beside the plan: secrets and where metrics listen. */
export interface OperatorSettings<Secret> {
  /** ADMIN_TOKEN of origins (fault injection) and edges (purge); without it those routes answer 404. */
  adminToken?: Secret;
  /** FLEET_SECRET of a sharded fleet's edges; without it no hop header is trusted. */
  fleetSecret?: Secret;
  /** The balancer's metrics listener (METRICS_PORT, METRICS_HOST), kept off the clients' port. */
  balancerMetrics?: { port: number; host?: string };
}

/**
 * What one service gets from the operators' settings, split the way deployments need it: secret
 * values by variable (plain environment locally and on Docker, SSM `secrets` on AWS) and plain
 * variables. One place decides who gets which secret.
 */
export function operatorEnv<Secret>(plan: ServicePlan, settings: OperatorSettings<Secret>): { secrets: Record<string, Secret>; env: Record<string, string> } {
  const secrets: Record<string, Secret> = {};
  const env: Record<string, string> = {};
  if (settings.adminToken !== undefined && plan.kind !== 'balancer') {
    secrets[plan.kind === 'origin' ? ORIGIN_ENV.adminToken : EDGE_ENV.adminToken] = settings.adminToken;
  }
  if (settings.fleetSecret !== undefined && plan.links.PEER_URLS) secrets[EDGE_ENV.fleetSecret] = settings.fleetSecret;
  if (settings.balancerMetrics && plan.kind === 'balancer') {
    env[LB_ENV.metricsPort] = String(settings.balancerMetrics.port);
    if (settings.balancerMetrics.host !== undefined) env[LB_ENV.metricsHost] = settings.balancerMetrics.host;
  }
  return { secrets, env };
}
