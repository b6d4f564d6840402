// The origin's configuration: one zod schema, one map from fields to env vars. Whoever starts an
// origin (the local lab, Docker, AWS) renders env with `originEnv`, the inverse of reading it.
import { z } from 'zod';
import { CONNECTION_ENV, configFromEnv, connectionLimitFields, connectionLimitIssues, env, renderEnv } from '@cdn-lab/service-kit';
import type { CatalogueSpec } from './catalogue.ts';
import { latencyDistributionSchema } from './latency.ts';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const real = (min: number, max: number) => z.coerce.number().min(min).max(max);

const MiB = 1024 * 1024;

export const originConfigSchema = z
  .object({
    host: env.host().default('127.0.0.1'),
    port: env.port().default(0),
    originId: z
      .string()
      .regex(/^[A-Za-z0-9_.-]{1,64}$/, 'letters, digits, "_", "." or "-" (1 to 64)')
      .default('origin-0'),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Object ids are 0..catalogueObjects-1. */
    catalogueObjects: int(1, 100_000_000).default(10_000),
    /** Unsigned 32-bit seed of sizes, bodies, validators and the fault draws. */
    catalogueSeed: int(0, 0xffff_ffff).default(1),
    /** Size distribution (see catalogue.ts): lognormal body, Pareto tail, clamp. */
    sizeMedianBytes: int(1, 64 * MiB).default(6144),
    sizeSigma: real(0, 4).default(1),
    sizeTailFraction: real(0, 1).default(0.05),
    sizeTailMinBytes: int(1, 1024 * MiB).default(64 * 1024),
    sizeTailAlpha: real(0.1, 10).default(1.2),
    sizeMinBytes: int(0, 1024 * MiB).default(64),
    sizeMaxBytes: int(1, 1024 * MiB).default(2 * MiB),
    /** Bytes of generated bodies kept in memory (an LRU); 0 turns the cache off. */
    bodyCacheBytes: int(0, 4096 * MiB).default(32 * MiB),
    /** Delay before every catalogue response, drawn per latency.ts (uniform: latencyMs + 0..latencyJitterMs). */
    latencyDistribution: latencyDistributionSchema.default('uniform'),
    latencyMs: int(0, 600_000).default(0),
    latencyJitterMs: int(0, 600_000).default(0),
    latencySigma: real(0, 5).default(0.5),
    latencyParetoAlpha: real(0.1, 20).default(2),
    latencyMaxMs: int(0, 600_000).default(10_000),
    /** Fraction of catalogue requests answered 500 (seeded draw). */
    errorRate: real(0, 1).default(0),
    ttlLongS: int(0, 2 ** 31 - 1).default(86_400),
    ttlShortS: int(0, 2 ** 31 - 1).default(10),
    /** RFC 5861 windows appended to the short class's Cache-Control when > 0 (the lab's stale-serving knobs). */
    staleWhileRevalidateS: int(0, 2 ** 31 - 1).default(0),
    staleIfErrorS: int(0, 2 ** 31 - 1).default(0),
    /** How long in-flight requests may take to finish after SIGTERM; unset: LATENCY_MAX_MS + 1 s (originDrainGraceMs). */
    drainGraceMs: int(0, 3_600_000).optional(),
    /**
     * Bearer token that /_admin/* (fault injection) requires; unset, those routes answer 404. The
     * edges and the balancer never forward /_admin/* either: this token is what protects the
     * origin from anyone who reaches its port directly.
     */
    adminToken: z.string().min(8, 'must be at least 8 characters').optional(),
    // Its clients are the edges' connection pools: idle connections outlive theirs (the AWS ALB
    // idles at 60 s, undici at 4 s), so a pool never reuses a socket the origin is closing.
    ...connectionLimitFields({ headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, keepAliveTimeoutMs: 65_000, maxConnections: 4096 }),
  })
  .superRefine((config, ctx) => {
    for (const issue of connectionLimitIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
    if (config.sizeMinBytes > config.sizeMaxBytes) {
      ctx.addIssue({ code: 'custom', path: ['sizeMinBytes'], message: `must be <= SIZE_MAX_BYTES (${config.sizeMaxBytes})` });
    }
  });

export type OriginConfig = z.output<typeof originConfigSchema>;

/** Env var of each config field. */
export const ORIGIN_ENV = {
  host: 'HOST',
  port: 'PORT',
  originId: 'ORIGIN_ID',
  logLevel: 'LOG_LEVEL',
  catalogueObjects: 'CATALOGUE_OBJECTS',
  catalogueSeed: 'CATALOGUE_SEED',
  sizeMedianBytes: 'SIZE_MEDIAN_BYTES',
  sizeSigma: 'SIZE_SIGMA',
  sizeTailFraction: 'SIZE_TAIL_FRACTION',
  sizeTailMinBytes: 'SIZE_TAIL_MIN_BYTES',
  sizeTailAlpha: 'SIZE_TAIL_ALPHA',
  sizeMinBytes: 'SIZE_MIN_BYTES',
  sizeMaxBytes: 'SIZE_MAX_BYTES',
  bodyCacheBytes: 'BODY_CACHE_BYTES',
  latencyDistribution: 'LATENCY_DISTRIBUTION',
  latencyMs: 'LATENCY_MS',
  latencyJitterMs: 'LATENCY_JITTER_MS',
  latencySigma: 'LATENCY_SIGMA',
  latencyParetoAlpha: 'LATENCY_PARETO_ALPHA',
  latencyMaxMs: 'LATENCY_MAX_MS',
  errorRate: 'ERROR_RATE',
  ttlLongS: 'TTL_LONG_S',
  ttlShortS: 'TTL_SHORT_S',
  staleWhileRevalidateS: 'STALE_WHILE_REVALIDATE_S',
  staleIfErrorS: 'STALE_IF_ERROR_S',
  drainGraceMs: 'DRAIN_GRACE_MS',
  adminToken: 'ADMIN_TOKEN',
  ...CONNECTION_ENV,
} as const satisfies Record<keyof OriginConfig, string>;

/** The drain grace in effect: DRAIN_GRACE_MS, or enough for the slowest response the latency model draws. */
export function originDrainGraceMs(config: Pick<OriginConfig, 'latencyMaxMs'> & { drainGraceMs?: number | undefined }): number {
  return config.drainGraceMs ?? config.latencyMaxMs + 1000;
}

/** Reads and validates the origin's config; a bad value throws a ConfigError naming its env var. */
export function originConfigFromEnv(source: NodeJS.ProcessEnv = process.env): OriginConfig {
  return configFromEnv(originConfigSchema, ORIGIN_ENV, source);
}

/** The full config with every default applied, plus `overrides` (validated). */
export function originConfig(overrides: Partial<OriginConfig> = {}): OriginConfig {
  return originConfigSchema.parse(overrides);
}

/** Renders (part of) a config as env vars; `originConfigFromEnv(originEnv(c))` gives `c` back. */
export function originEnv(config: Partial<OriginConfig>): Record<string, string> {
  return renderEnv<OriginConfig>(config, ORIGIN_ENV);
}

/** The catalogue described by a config (what the simulator needs to reproduce sizes). */
export function catalogueSpecOf(config: OriginConfig): CatalogueSpec {
  return {
    objects: config.catalogueObjects,
    seed: config.catalogueSeed,
    medianBytes: config.sizeMedianBytes,
    sigma: config.sizeSigma,
    tailFraction: config.sizeTailFraction,
    tailMinBytes: config.sizeTailMinBytes,
    tailAlpha: config.sizeTailAlpha,
    minBytes: config.sizeMinBytes,
    maxBytes: config.sizeMaxBytes,
  };
}
