// The balancer's configuration: environment variables (docs/contracts.md) validated by zod.
// `LB_ENV` maps each field to its variable; `lbEnv` renders a config back to variables, so the lab
// (infra) can start a balancer from a typed config without knowing the names.
import { CLIENT_FACING_LIMITS, CONNECTION_ENV, configFromEnv, connectionLimitFields, connectionLimitIssues, env, renderEnv } from '@cdn-lab/service-kit';
import { z } from 'zod';
import { ALGORITHM_NAMES } from './algorithms/registry.ts';

export interface BackendConfig {
  /** Stable name: metric label, `X-Served-By` value, hash-ring node. */
  id: string;
  /** Base URL, e.g. `http://127.0.0.1:4001`; the request's path and query are appended. */
  url: string;
}

const BACKEND_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Parses `BACKENDS`: comma-separated `id=url`, ids unique, URLs http(s). */
export const backendsSchema = z.string().transform((raw, ctx): BackendConfig[] => {
  const entries = raw.split(',').map((entry) => entry.trim()).filter(Boolean);
  const backends: BackendConfig[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const id = eq > 0 ? entry.slice(0, eq).trim() : '';
    const url = eq > 0 ? entry.slice(eq + 1).trim() : '';
    if (!id || !url) problems.push(`"${entry}" is not id=url`);
    else if (!BACKEND_ID.test(id)) problems.push(`id "${id}" must be letters, digits, '.', '_' or '-'`);
    else if (backends.some((b) => b.id === id)) problems.push(`id "${id}" appears twice`);
    else if (!z.url({ protocol: /^https?$/ }).safeParse(url).success) problems.push(`"${url}" (of ${id}) is not an http(s) URL`);
    else if (url.startsWith('https:')) problems.push(`"${url}" (of ${id}): https backends are not supported, use http`);
    else backends.push({ id, url: url.replace(/\/+$/, '') });
  }
  if (entries.length === 0) problems.push('needs at least one backend, e.g. edge-0=http://127.0.0.1:4001');
  for (const message of problems) ctx.addIssue({ code: 'custom', message });
  return backends;
});

const positiveMs = () => z.coerce.number().int().min(1).max(3_600_000);

export const configSchema = z
  .object({
    host: env.host().default('127.0.0.1'),
    port: env.port().default(0),
    /**
     * The operators' listener: /metrics and /_lb/backends move here, off the clients' port (0 picks
     * a free port). Unset: they are served on the client port (a balancer alone on loopback).
     */
    metricsPort: env.port().optional(),
    /** Address of the metrics listener; unset: HOST. */
    metricsHost: env.host().optional(),
    lbId: z.string().regex(BACKEND_ID, 'letters, digits, ".", "_" or "-"').default('lb-0'),
    backends: backendsSchema,
    algorithm: z
      .enum(ALGORITHM_NAMES, { error: (issue) => `unknown algorithm "${String(issue.input)}"; valid algorithms: ${ALGORITHM_NAMES.join(', ')}` })
      .default('round-robin'),
    healthIntervalMs: positiveMs().default(1000),
    healthPath: z.string().startsWith('/', 'must start with "/"').default('/healthz'),
    healthTimeoutMs: positiveMs().default(500),
    /** Consecutive failed checks before a backend is taken out (1 for the lab: react fast). */
    healthUnhealthyThreshold: z.coerce.number().int().min(1).max(100).default(1),
    proxyTimeoutMs: positiveMs().default(15_000),
    /** How long in-flight requests may take to finish after SIGTERM; unset: PROXY_TIMEOUT_MS + 1 s (lbDrainGraceMs). */
    drainGraceMs: z.coerce.number().int().min(0).max(3_600_000).optional(),
    seed: z.coerce.number().int().min(0).max(0xffffffff).default(1),
    boundedLoadEpsilon: z.coerce.number().gt(0).max(100).default(0.25),
    hashVirtualNodes: z.coerce.number().int().min(1).max(10_000).default(160),
    ...connectionLimitFields(CLIENT_FACING_LIMITS),
  })
  .superRefine((config, ctx) => {
    for (const issue of connectionLimitIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
    if (config.metricsPort !== undefined && config.metricsPort !== 0 && config.metricsPort === config.port) {
      ctx.addIssue({ code: 'custom', path: ['metricsPort'], message: `must differ from PORT (${config.port}): metrics are kept off the clients' listener` });
    }
    if (config.metricsHost !== undefined && config.metricsPort === undefined) {
      ctx.addIssue({ code: 'custom', path: ['metricsHost'], message: 'needs METRICS_PORT' });
    }
  });

export type LbConfig = z.output<typeof configSchema>;
/** What a caller may pass to `lbEnv` or tests may build: defaults filled by the schema. */
export type LbConfigInput = z.input<typeof configSchema>;

export const LB_ENV = {
  host: 'HOST',
  port: 'PORT',
  metricsPort: 'METRICS_PORT',
  metricsHost: 'METRICS_HOST',
  lbId: 'LB_ID',
  backends: 'BACKENDS',
  algorithm: 'LB_ALGORITHM',
  healthIntervalMs: 'HEALTH_INTERVAL_MS',
  healthPath: 'HEALTH_PATH',
  healthTimeoutMs: 'HEALTH_TIMEOUT_MS',
  healthUnhealthyThreshold: 'HEALTH_UNHEALTHY_THRESHOLD',
  proxyTimeoutMs: 'PROXY_TIMEOUT_MS',
  drainGraceMs: 'DRAIN_GRACE_MS',
  seed: 'LB_SEED',
  boundedLoadEpsilon: 'BOUNDED_LOAD_EPSILON',
  hashVirtualNodes: 'HASH_VIRTUAL_NODES',
  ...CONNECTION_ENV,
} as const satisfies Record<keyof LbConfig, string>;

/** The drain grace in effect: DRAIN_GRACE_MS, or long enough for a request that takes the whole proxy timeout. */
export function lbDrainGraceMs(config: Pick<LbConfig, 'proxyTimeoutMs'> & { drainGraceMs?: number | undefined }): number {
  return config.drainGraceMs ?? config.proxyTimeoutMs + 1000;
}

/** Reads and validates the environment; throws ConfigError naming each bad variable. */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): LbConfig {
  return configFromEnv(configSchema, LB_ENV, environment);
}

export function renderBackends(backends: readonly BackendConfig[]): string {
  return backends.map((backend) => `${backend.id}=${backend.url}`).join(',');
}

/** The environment variables that make `loadConfig` return `config` (the inverse of loadConfig). */
export function lbEnv(config: LbConfig): Record<string, string> {
  return renderEnv<LbConfig>(config, LB_ENV, { backends: renderBackends });
}
