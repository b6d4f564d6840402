// The Pulumi stacks' configuration (`cdn-lab:*` keys in Pulumi.<stack>.yaml), validated by zod.
// Pure: index.ts reads the raw values from Pulumi config and passes them here, so tests check
// every message without a Pulumi runtime. Every error names the config key (and field) at fault.
import { z } from 'zod';
import { ConfigError, formatIssues } from '@cdn-lab/service-kit';
import { TopologySchema, type Topology } from '../topology.ts';

export const CONFIG_NAMESPACE = 'cdn-lab';
export const BACKENDS = ['docker', 'aws'] as const;
export type StackBackend = (typeof BACKENDS)[number];

/** The port every lab service listens on inside its container or task. */
export const SERVICE_PORT = 8080;

/** The lab balancer's metrics listener inside its container: Prometheus's port, never published. */
export const BALANCER_METRICS_PORT = 9100;

const port = () => z.number().int().min(1).max(65535);

export const DockerSettingsSchema = z
  .object({
    /** What fronts the edges: the lab's own balancer image, or nginx rendered from the same algorithm. */
    balancer: z.enum(['lab', 'nginx']).default('lab'),
    /** Host address published ports bind to; 127.0.0.1 keeps the lab off the network. */
    bindAddress: z.union([z.ipv4(), z.ipv6()]).default('127.0.0.1'),
    /** Host ports of what a person opens: the CDN entry point, Grafana and Prometheus. */
    ports: z
      .object({ cdn: port().default(8080), grafana: port().default(3000), prometheus: port().default(9090) })
      .strict()
      .default({ cdn: 8080, grafana: 3000, prometheus: 9090 }),
    /** Tag of the locally built service images. */
    imageTag: z.string().regex(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, 'a Docker tag: letters, digits, _ . -').default('dev'),
    /** Prometheus scrape interval in seconds. */
    scrapeIntervalSeconds: z.number().int().min(1).max(300).default(5),
  })
  .strict();
export type DockerSettings = z.output<typeof DockerSettingsSchema>;

/** CIDRs that mean "anyone": never allowed for Grafana. */
const OPEN_CIDRS = new Set(['0.0.0.0/0', '::/0']);

const cidr = () =>
  z
    .string()
    .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d|[12]\d|3[0-2])$/, 'an IPv4 CIDR like 203.0.113.7/32')
    .refine((value) => value.split('/')[0]!.split('.').every((octet) => Number(octet) <= 255), 'octets must be 0-255');

/** Fargate CPU units and the memory (MiB) sizes valid for them. */
const FARGATE_SIZES: Record<number, number[]> = {
  256: [512, 1024, 2048],
  512: [1024, 2048, 3072, 4096],
  1024: [2048, 3072, 4096, 5120, 6144, 7168, 8192],
};
const taskSize = (cpu: number, memory: number) =>
  z
    .object({ cpu: z.number().int().default(cpu), memory: z.number().int().default(memory) })
    .strict()
    .superRefine((size, ctx) => {
      const memories = FARGATE_SIZES[size.cpu];
      if (!memories) ctx.addIssue({ code: 'custom', path: ['cpu'], message: `Fargate CPU must be one of ${Object.keys(FARGATE_SIZES).join(', ')}` });
      else if (!memories.includes(size.memory)) {
        ctx.addIssue({ code: 'custom', path: ['memory'], message: `with cpu ${size.cpu}, memory must be one of ${memories.join(', ')} (MiB)` });
      }
    })
    .default({ cpu, memory });

export const AwsSettingsSchema = z
  .object({
    vpcCidr: cidr().default('10.42.0.0/16'),
    /** Who may open Grafana (port 3000). Required: there is no safe default, and "anyone" is refused. */
    grafanaCidr: cidr().refine((value) => !OPEN_CIDRS.has(value), 'must not be open to the whole internet; use your address, e.g. 203.0.113.7/32'),
    /** Port the ALB listens on for clients (HTTP). */
    listenerPort: port().default(80),
    origin: taskSize(256, 512),
    edge: taskSize(256, 512),
    observability: taskSize(512, 1024),
    /** How often the ALB checks each edge's /healthz. */
    healthCheckIntervalSeconds: z.number().int().min(5).max(300).default(10),
    /** Extra tags on every resource (Project and Stack are always added). */
    tags: z.record(z.string(), z.string()).default({}),
  })
  .strict();
export type AwsSettings = z.output<typeof AwsSettingsSchema>;

export type StackSettings =
  | { backend: 'docker'; topology: Topology; docker: DockerSettings }
  | { backend: 'aws'; topology: Topology; aws: AwsSettings };

/** Raw values as Pulumi config holds them (objects already parsed from YAML). */
export interface RawStackConfig {
  backend?: unknown;
  topology?: unknown;
  docker?: unknown;
  aws?: unknown;
}

const key = (name: string) => `${CONFIG_NAMESPACE}:${name}`;

function parseKey<S extends z.ZodType>(schema: S, name: string, value: unknown): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) throw new ConfigError('stack configuration', formatIssues(result.error, key(name)));
  return result.data;
}

/** Validates the stack configuration; a ConfigError lists each bad key as `cdn-lab:key.field: reason`. */
export function parseStackConfig(raw: RawStackConfig): StackSettings {
  const backend = parseKey(
    z.enum(BACKENDS, { error: (issue) => `expected one of ${BACKENDS.join(', ')}, got ${JSON.stringify(issue.input)}` }),
    'backend',
    raw.backend,
  );
  const topology = parseKey(TopologySchema, 'topology', raw.topology ?? {});
  if (backend === 'docker') {
    return { backend, topology, docker: parseKey(DockerSettingsSchema, 'docker', raw.docker ?? {}) };
  }
  return { backend, topology, aws: parseKey(AwsSettingsSchema, 'aws', raw.aws ?? {}) };
}

/** Tags every AWS resource carries (plus the stack's own from `cdn-lab:aws.tags`). */
export function baseTags(project: string, stack: string, topologyName: string): Record<string, string> {
  return { Project: project, Stack: stack, Topology: topologyName, ManagedBy: 'pulumi' };
}

/** The services' secrets a stack may set (`pulumi config set --secret cdn-lab:<name> ...`); both optional. */
export const SERVICE_SECRETS = {
  adminToken: { minLength: 8, purpose: 'ADMIN_TOKEN: bearer token of the origins\' /_admin/faults and the edges\' /_edge/purge' },
  fleetSecret: { minLength: 16, purpose: 'FLEET_SECRET: what a sharded fleet\'s edges require of each other\'s hop header' },
} as const;

/** A service secret as the services will accept it; a ConfigError naming the key otherwise. */
export function checkServiceSecret(name: keyof typeof SERVICE_SECRETS, value: string): string {
  const { minLength } = SERVICE_SECRETS[name];
  if (value.length < minLength) {
    throw new ConfigError('stack configuration', [`${CONFIG_NAMESPACE}:${name}: must be at least ${minLength} characters (got ${value.length})`]);
  }
  return value;
}
