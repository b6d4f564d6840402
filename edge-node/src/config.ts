// The edge node's configuration: one zod schema, one map from fields to env vars (docs/contracts.md).
// Whoever starts an edge (the local lab, Docker, AWS) renders env with `edgeEnv`, the inverse of reading it.
import { z } from 'zod';
import { CLIENT_FACING_LIMITS, CONNECTION_ENV, configFromEnv, connectionLimitFields, connectionLimitIssues, env, renderEnv } from '@cdn-lab/service-kit';
import { isValidPolicySpec, POLICY_NAMES, SECOND_HIT_PREFIX } from './policies/registry.ts';

const positiveInt = (max: number) => z.coerce.number().int().min(1).max(max);
/** A simulated network delay in ms (0 = none); capped at 10 minutes. */
const delayMs = z.coerce.number().int().min(0).max(600_000).default(0);

/** A fleet member: `http://host:port`, or `id=http://host:port` to hash by a stable name. */
export interface PeerSpec {
  id: string;
  url: string;
}

const peerList = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
  .pipe(
    z.array(
      z.string().transform((item, ctx) => {
        const eq = item.indexOf('=');
        const named = eq > 0 && !item.slice(0, eq).includes('://');
        const id = named ? item.slice(0, eq) : undefined;
        const url = named ? item.slice(eq + 1) : item;
        if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) {
          ctx.addIssue({ code: 'custom', message: `"${item}" is not an http(s) URL (or id=URL)` });
          return z.NEVER;
        }
        const normalized = url.replace(/\/+$/, '');
        return { id: id ?? normalized, url: normalized } satisfies PeerSpec;
      }),
    ),
  );

export const edgeConfigSchema = z
  .object({
    host: env.host().default('127.0.0.1'),
    port: env.port().default(0),
    edgeId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1 to 64)')
      .default('edge-0'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Origins, used round robin. Required unless PARENT_URL is set. */
    upstreamUrls: env.urlList().default([]),
    /** A parent edge (tiered cache / shield): misses go there instead of the origins. */
    parentUrl: env.url().optional(),
    /** Fleet sharding: every edge of the fleet (including this one); a miss goes to the key's owner. */
    peerUrls: peerList.default([]),
    /** This edge's own entry in PEER_URLS. */
    selfUrl: env.url().optional(),
    cachePolicy: z
      .string()
      .refine(isValidPolicySpec, {
        message: `unknown cache policy; valid policies: ${POLICY_NAMES.join(', ')} (each also as ${SECOND_HIT_PREFIX}<policy>)`,
      })
      .default('lru'),
    cacheBytes: positiveInt(Number.MAX_SAFE_INTEGER).default(64 * 1024 * 1024),
    /**
     * Edge processes serving one port (workers.ts): 1 is a single process; N forks N cluster
     * workers, each with CACHE_BYTES / N of cache and nothing else shared. Up to 256.
     */
    workers: positiveInt(256).default(1),
    cacheMaxObjects: positiveInt(Number.MAX_SAFE_INTEGER).optional(),
    /**
     * Largest response kept in the cache, bytes: larger ones are passed on as they arrive and not
     * stored. 4 MiB: Squid's default maximum_object_size, above the origin catalogue's largest object
     * (2 MiB), and 1/16 of the default cache, so every body being filled costs at most that much memory.
     */
    maxObjectBytes: positiveInt(Number.MAX_SAFE_INTEGER).default(4 * 1024 * 1024),
    /**
     * A Range request the cache cannot answer is sent upstream for the whole slices of this many
     * bytes that cover it, and the 206 kept as a partial entry (RFC 9111 §3.3); 0: Range misses fill
     * the whole representation instead. 1 MiB: the size nginx's slice module documentation uses.
     */
    rangeSliceBytes: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(1024 * 1024),
    /** Largest request body forwarded, bytes (413 above it); streamed, so it bounds what passes, not memory. */
    maxRequestBodyBytes: positiveInt(Number.MAX_SAFE_INTEGER).default(16 * 1024 * 1024),
    coalescing: env.bool().default(true),
    upstreamTimeoutMs: positiveInt(3_600_000).default(10_000),
    /**
     * Upstream health (nginx max_fails / fail_timeout): after this many consecutive failed or timed-out
     * exchanges an upstream is marked down for UPSTREAM_FAIL_TIMEOUT_MS; 0 turns the tracking off.
     */
    upstreamMaxFails: z.coerce.number().int().min(0).max(1000).default(3),
    upstreamFailTimeoutMs: positiveInt(3_600_000).default(10_000),
    /** How long in-flight requests may take to finish after SIGTERM; unset: UPSTREAM_TIMEOUT_MS + 1 s (edgeDrainGraceMs). */
    drainGraceMs: z.coerce.number().int().min(0).max(3_600_000).optional(),
    /** Bearer token for /_edge/purge; unset disables the admin endpoints. */
    adminToken: z.string().min(8, 'must be at least 8 characters').optional(),
    /**
     * Shared by the edges of a sharded fleet: a request forwarded to a key's owner carries it in the
     * hop header, and only a hop header carrying it is trusted. Unset: no hop header is trusted, so
     * a client cannot pose as a peer (the owner then treats forwarded requests as a client's).
     */
    fleetSecret: z.string().min(16, 'must be at least 16 characters').optional(),
    /** Lifetime given to 404/410 responses without explicit freshness (negative caching); 0 = off. */
    negativeTtlS: z.coerce.number().int().min(0).max(2 ** 31 - 1).default(10),
    /**
     * Whether stale content may ever be served (RFC 5861 stale-while-revalidate / stale-if-error,
     * client max-stale). Off: every stale reuse is revalidated first, as if the response said must-revalidate.
     */
    serveStale: env.bool().default(true),
    /**
     * Whether responses carrying Set-Cookie may be stored and served (with their Set-Cookie) to
     * everyone. RFC 9111 §7.3 allows it; off by default, as most CDNs, since such a response is usually one user's session.
     */
    storeSetCookie: env.bool().default(false),
    /**
     * One fresh hit in this many gets an access log line (with `"sample":N`); every other answer, and
     * every hit slower than SLOW_HIT_LOG_MS, always gets one. 1 logs every hit.
     */
    accessLogHitSample: positiveInt(1_000_000).default(10),
    /** Simulated client<->edge round trip: added once before each response is sent to the client. */
    clientDelayMs: delayMs,
    /** Simulated edge<->upstream round trip: added before each upstream request (within UPSTREAM_TIMEOUT_MS). */
    upstreamDelayMs: delayMs,
    ...connectionLimitFields(CLIENT_FACING_LIMITS),
  })
  .superRefine((config, ctx) => {
    for (const issue of connectionLimitIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
    if (config.upstreamUrls.length === 0 && config.parentUrl === undefined) {
      ctx.addIssue({ code: 'custom', path: ['upstreamUrls'], message: 'required: comma-separated origin URLs (or set PARENT_URL)' });
    }
    if (config.peerUrls.length > 0) {
      const self = config.selfUrl?.replace(/\/+$/, '');
      if (self === undefined) {
        ctx.addIssue({ code: 'custom', path: ['selfUrl'], message: 'required when PEER_URLS is set' });
      } else if (!config.peerUrls.some((peer) => peer.url === self)) {
        ctx.addIssue({ code: 'custom', path: ['selfUrl'], message: `must be one of PEER_URLS (${config.peerUrls.map((p) => p.url).join(', ')})` });
      }
    }
  });

export type EdgeConfig = z.output<typeof edgeConfigSchema>;
export type EdgeConfigInput = z.input<typeof edgeConfigSchema>;

/** Env var of each config field. */
export const EDGE_ENV = {
  host: 'HOST',
  port: 'PORT',
  edgeId: 'EDGE_ID',
  logLevel: 'LOG_LEVEL',
  upstreamUrls: 'UPSTREAM_URLS',
  parentUrl: 'PARENT_URL',
  peerUrls: 'PEER_URLS',
  selfUrl: 'SELF_URL',
  cachePolicy: 'CACHE_POLICY',
  cacheBytes: 'CACHE_BYTES',
  workers: 'EDGE_WORKERS',
  cacheMaxObjects: 'CACHE_MAX_OBJECTS',
  maxObjectBytes: 'MAX_OBJECT_BYTES',
  maxRequestBodyBytes: 'MAX_REQUEST_BODY_BYTES',
  rangeSliceBytes: 'RANGE_SLICE_BYTES',
  coalescing: 'COALESCING',
  upstreamTimeoutMs: 'UPSTREAM_TIMEOUT_MS',
  upstreamMaxFails: 'UPSTREAM_MAX_FAILS',
  upstreamFailTimeoutMs: 'UPSTREAM_FAIL_TIMEOUT_MS',
  drainGraceMs: 'DRAIN_GRACE_MS',
  adminToken: 'ADMIN_TOKEN',
  fleetSecret: 'FLEET_SECRET',
  negativeTtlS: 'NEGATIVE_TTL_S',
  serveStale: 'SERVE_STALE',
  storeSetCookie: 'STORE_SET_COOKIE',
  accessLogHitSample: 'ACCESS_LOG_HIT_SAMPLE',
  clientDelayMs: 'CLIENT_DELAY_MS',
  upstreamDelayMs: 'UPSTREAM_DELAY_MS',
  ...CONNECTION_ENV,
} as const satisfies Record<keyof EdgeConfig, string>;

/** The drain grace in effect: DRAIN_GRACE_MS, or long enough for a miss that takes the whole upstream timeout. */
export function edgeDrainGraceMs(config: Pick<EdgeConfig, 'upstreamDelayMs' | 'upstreamTimeoutMs'> & { drainGraceMs?: number | undefined }): number {
  return config.drainGraceMs ?? config.upstreamDelayMs + config.upstreamTimeoutMs + 1000;
}

/** Reads and validates the edge's config; a bad value throws a ConfigError naming its env var. */
export function edgeConfigFromEnv(source: NodeJS.ProcessEnv = process.env): EdgeConfig {
  return configFromEnv(edgeConfigSchema, EDGE_ENV, source);
}

/**
 * Process settings an edge runs with besides its config (part of `edgeProcessEnv`), for its memory
 * with a full cache. An 8 MiB V8 semi-space instead of 16: smaller ones held less but cost speed
 * (short-lived request objects reaching the old generation, or scavenges eating a miss-heavy edge's
 * CPU; the figures are in loadtest/BENCH.md, memory).
 * glibc: two malloc arenas, and a fixed mmap threshold, so bodies of 64 KiB and more get their own
 * mapping and go back to the system when freed; with glibc's sliding threshold they came from the
 * heap, and a cache evicting steadily fragmented it by about 40 MiB. The MALLOC_ variables are read
 * by glibc only (the Debian-based image and this machine); elsewhere they are ignored.
 */
export const EDGE_PROCESS_ENV: Readonly<Record<string, string>> = {
  NODE_OPTIONS: '--max-semi-space-size=8',
  MALLOC_ARENA_MAX: '2',
  MALLOC_MMAP_THRESHOLD_: '65536',
};

/**
 * The whole environment to start an edge process with: its config as env vars and
 * EDGE_PROCESS_ENV. Every launcher uses it: the plan (so the local lab, Docker and AWS) and the bench.
 */
export function edgeProcessEnv(config: Partial<EdgeConfig>): Record<string, string> {
  return { ...EDGE_PROCESS_ENV, ...edgeEnv(config) };
}

/** Renders a config as env vars; `edgeConfigFromEnv(edgeEnv(c))` gives `c` back. */
export function edgeEnv(config: Partial<EdgeConfig>): Record<string, string> {
  return renderEnv<EdgeConfig>(config, EDGE_ENV, {
    peerUrls: (peers) => peers.map((peer) => (peer.id === peer.url ? peer.url : `${peer.id}=${peer.url}`)).join(','),
  });
}
