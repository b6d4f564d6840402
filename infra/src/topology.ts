// A topology is the lab's one description of what runs: origins, edges (policy, cache size,
// tiering), the balancer. The local backend, the Docker stack and the AWS stack all render it, and
// a comparison's variants are edits to it, never code.
import { z } from 'zod';
import { parseOrThrow } from '@cdn-lab/service-kit';
import { POLICY_NAMES, isPolicyName } from '@cdn-lab/edge-node/policies/registry';
import { byteSize } from './units.ts';
import { LATENCY_DISTRIBUTIONS } from '@cdn-lab/origin/latency';

import { ALGORITHM_NAMES } from '@cdn-lab/load-balancer/algorithms/registry';
import { EDGE_SOFTWARE, SERVER_POLICIES, type EdgeSoftware } from './render/cache-server.ts';

export { EDGE_SOFTWARE, type EdgeSoftware };

/** The balancer's algorithms, from its own registry (the AWS stack maps them onto the ALB's). */
export const BALANCER_ALGORITHMS = ALGORITHM_NAMES;
export type BalancerAlgorithm = (typeof BALANCER_ALGORITHMS)[number];

/** How edges reach content: each on its own, through one shield edge, or sharded by key across the fleet. */
export const TIERINGS = ['none', 'shield', 'sharded'] as const;
export type Tiering = (typeof TIERINGS)[number];

/** Settings only the lab's own edge has: a real cache server refuses them by name (edgeSoftwareIssues). */
const LAB_EDGE_ONLY = ['maxObjects', 'maxRequestBodyBytes'] as const;

export const OriginSpecSchema = z
  .object({
    count: z.number().int().min(1).max(8).default(1),
    /** Catalogue size: object ids are 0..objects-1. */
    objects: z.number().int().min(1).max(100_000_000).default(10_000),
    seed: z.number().int().min(0).default(1),
    /**
     * Origin latency model (origin/src/latency.ts): uniform = latencyMs + 0..jitterMs, normal =
     * mean latencyMs with standard deviation jitterMs, lognormal = median latencyMs with sigma,
     * pareto = minimum latencyMs with shape paretoAlpha.
     */
    latency: z.enum(LATENCY_DISTRIBUTIONS).default('uniform'),
    latencyMs: z.number().int().min(0).max(60_000).default(20),
    jitterMs: z.number().int().min(0).max(60_000).default(5),
    sigma: z.number().min(0).max(5).default(0.5),
    paretoAlpha: z.number().min(0.1).max(20).default(2),
    /** Fraction of catalogue requests answered with 500. */
    errorRate: z.number().min(0).max(1).default(0),
    /** max-age of the short-TTL class (`/short/:id`); the long class (`/obj/:id`) keeps a day. */
    shortTtlS: z.number().int().min(0).max(86_400).default(10),
    /** RFC 5861 windows the origin adds to short-TTL objects (`/short/:id`); 0 leaves them out. */
    staleWhileRevalidateS: z.number().int().min(0).max(86_400).default(0),
    staleIfErrorS: z.number().int().min(0).max(86_400).default(0),
  })
  .strict();

/** A group of edges that share a network position: how far their clients and their upstream are. */
export const RegionSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,29}$/, 'lowercase letters, digits and dashes, at most 30 characters'),
    /** Edges in this region (edge ids are assigned in region order). */
    count: z.number().int().min(1).max(32),
    /** Simulated client-to-edge round trip, paid once per response. */
    clientDelayMs: z.number().int().min(0).max(10_000).default(0),
    /** Simulated edge-to-upstream round trip, paid per upstream request. */
    upstreamDelayMs: z.number().int().min(0).max(10_000).default(0),
  })
  .strict();
export type Region = z.output<typeof RegionSchema>;

export const EdgeSpecSchema = z
  .object({
    count: z.number().int().min(1).max(32).default(2),
    /**
     * What runs as the edge: the lab's own edge (`cdn-lab`), or a real cache server from Debian's
     * packages configured from these same settings (infra/src/render/cache-server.ts).
     */
    software: z.enum(EDGE_SOFTWARE).default('cdn-lab'),
    /** Replacement policy: one of the lab's policies for `cdn-lab`, else one the server has (SERVER_POLICIES). */
    policy: z.string().default('lru'),
    /** Byte budget of each edge's cache. */
    cacheBytes: byteSize().default(64 * 1024 * 1024),
    /** Optional cap on objects per edge. */
    maxObjects: z.number().int().positive().optional(),
    /** Largest response an edge stores (MAX_OBJECT_BYTES); larger ones stream through. Unset: the edge's default, 4 MiB. */
    maxObjectBytes: byteSize().optional(),
    /** Largest request body an edge forwards (MAX_REQUEST_BODY_BYTES, 413 above). Unset: the edge's default, 16 MiB. */
    maxRequestBodyBytes: byteSize().optional(),
    /** One upstream fetch per key at a time. */
    coalescing: z.boolean().default(true),
    tiering: z.enum(TIERINGS).default('none'),
    /** Cache size of the shield edge when tiering is "shield"; defaults to cacheBytes. */
    shieldCacheBytes: byteSize().optional(),
    upstreamTimeoutMs: z.number().int().min(1).max(300_000).default(10_000),
    /** Serve stale content under stale-while-revalidate / stale-if-error (RFC 5861). */
    serveStale: z.boolean().default(true),
    /** Store responses carrying Set-Cookie (RFC 9111 §7.3 allows it; off, as most CDNs). */
    storeSetCookie: z.boolean().default(false),
    /**
     * Simulated network delays. Without regions every edge gets these; with regions, each region's
     * edges get the region's, and the regions' counts must add up to `count`.
     */
    clientDelayMs: z.number().int().min(0).max(10_000).default(0),
    upstreamDelayMs: z.number().int().min(0).max(10_000).default(0),
    regions: z.array(RegionSchema).min(1).optional(),
  })
  .strict()
  // Runs even when other fields failed (so a bad policy is named beside them) once these two parse.
  .superRefine(
    (edges, ctx) => {
      for (const issue of edgeSoftwareIssues(edges)) ctx.addIssue({ code: 'custom', path: [issue.field], message: issue.message });
    },
    {
      when: ({ value }) => {
        const edges = value as { software?: unknown; policy?: unknown } | undefined;
        return typeof edges?.policy === 'string' && (EDGE_SOFTWARE as readonly unknown[]).includes(edges.software);
      },
    },
  )
  .superRefine((edges, ctx) => {
    if (!edges.regions) return;
    const total = edges.regions.reduce((sum, region) => sum + region.count, 0);
    if (total !== edges.count) {
      ctx.addIssue({ code: 'custom', path: ['regions'], message: `region counts add up to ${total} but edges.count is ${edges.count}` });
    }
    const names = edges.regions.map((region) => region.name);
    if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', path: ['regions'], message: 'region names must be unique' });
  });

/**
 * What a topology's edge software cannot do with these settings: the policy must be one the
 * software has, and a real cache server takes only the settings it can honour (no simulated
 * delays, no fleet sharding, always-on coalescing in Varnish), each refused by name.
 */
export function edgeSoftwareIssues(edges: {
  software: EdgeSoftware;
  policy: string;
  coalescing: boolean;
  tiering: Tiering;
  storeSetCookie: boolean;
  clientDelayMs: number;
  upstreamDelayMs: number;
  regions?: Region[] | undefined;
  maxObjects?: number | undefined;
  maxRequestBodyBytes?: number | undefined;
}): { field: string; message: string }[] {
  const { software } = edges;
  if (software === 'cdn-lab') {
    return isPolicyName(edges.policy) ? [] : [{ field: 'policy', message: `unknown cache policy ${JSON.stringify(edges.policy)}; valid policies: ${POLICY_NAMES.join(', ')}` }];
  }
  const issues: { field: string; message: string }[] = [];
  const policies = SERVER_POLICIES[software];
  if (!policies.includes(edges.policy)) {
    issues.push({ field: 'policy', message: `${software} has no replacement policy ${JSON.stringify(edges.policy)}; its policies: ${policies.join(', ')}` });
  }
  const only = (field: string, what: string) => issues.push({ field, message: `${what} is only for the lab's own edge (software: cdn-lab), not ${software}` });
  if (edges.tiering === 'sharded') only('tiering', 'tiering "sharded" (misses forwarded to the key\'s owner edge)');
  if (edges.clientDelayMs || edges.upstreamDelayMs || (Array.isArray(edges.regions) && edges.regions.some((r) => r?.clientDelayMs || r?.upstreamDelayMs))) {
    only(edges.regions ? 'regions' : edges.clientDelayMs ? 'clientDelayMs' : 'upstreamDelayMs', 'a simulated network delay');
  }
  if (edges.storeSetCookie) only('storeSetCookie', 'storing responses with Set-Cookie');
  for (const field of LAB_EDGE_ONLY) if (edges[field] !== undefined) only(field, field);
  if (software === 'varnish' && !edges.coalescing) {
    issues.push({ field: 'coalescing', message: 'varnish always coalesces concurrent misses on its waiting list; coalescing: false cannot be honoured' });
  }
  return issues;
}

export const BalancerSpecSchema = z
  .object({
    algorithm: z.enum(BALANCER_ALGORITHMS).default('round-robin'),
    healthIntervalMs: z.number().int().min(50).max(60_000).default(1000),
    /**
     * A check slower than this fails; this many failures in a row take an edge out. Lenient by
     * default: on a shared 2-core machine under load a healthy edge can take a while to answer.
     */
    healthTimeoutMs: z.number().int().min(10).max(60_000).default(1500),
    unhealthyThreshold: z.number().int().min(1).max(100).default(2),
  })
  .strict();

export const TopologySchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lowercase letters, digits and dashes, at most 40 characters')
      .default('lab'),
    origin: OriginSpecSchema.default(OriginSpecSchema.parse({})),
    edges: EdgeSpecSchema.default(EdgeSpecSchema.parse({})),
    balancer: BalancerSpecSchema.default(BalancerSpecSchema.parse({})),
  })
  .strict()
  .superRefine((topology, ctx) => {
    // A real cache server is configured with one upstream (the origin, or its parent shield).
    if (topology.edges.software !== 'cdn-lab' && topology.origin.count > 1) {
      ctx.addIssue({ code: 'custom', path: ['origin', 'count'], message: `edges with software ${topology.edges.software} take one origin; got ${topology.origin.count}` });
    }
  });

/** What a user writes (every field optional). */
export type TopologyInput = z.input<typeof TopologySchema>;
/** A validated topology with every default filled in. */
export type Topology = z.output<typeof TopologySchema>;

/** Validates a topology, throwing a ConfigError that names each bad field and why. */
export function parseTopology(input: unknown, source = 'topology'): Topology {
  return parseOrThrow(TopologySchema, input ?? {}, source);
}

/** Service ids, the same in every backend (they label metrics and logs). */
export const serviceIds = {
  origin: (index: number) => `origin-${index}`,
  edge: (index: number) => `edge-${index}`,
  shield: () => 'shield-0',
  balancer: () => 'lb-0',
};
