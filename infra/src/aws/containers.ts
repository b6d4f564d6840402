// ECS container definitions, built by pure functions (tests read them back from the task
// definition JSON). Lab services log JSON lines to stdout; a FireLens (Fluent Bit) sidecar ships
// them to Loki with the plan's labels, so no CloudWatch Logs are involved.
import { SERVICE_PORT } from '../components/stack-config.ts';

/** AWS's Fluent Bit build (core plugins, including the `loki` output). */
export const LOG_ROUTER_IMAGE = 'public.ecr.aws/aws-observability/aws-for-fluent-bit:2.34.3';

export interface KeyValue {
  name: string;
  value: string;
}

export interface ContainerDefinition {
  name: string;
  image: string;
  essential: boolean;
  entryPoint?: string[];
  command?: string[];
  environment?: KeyValue[];
  secrets?: { name: string; valueFrom: string }[];
  portMappings?: { containerPort: number; protocol: 'tcp' }[];
  healthCheck?: { command: string[]; interval: number; timeout: number; retries: number; startPeriod: number };
  logConfiguration?: { logDriver: 'awsfirelens'; options: Record<string, string> };
  firelensConfiguration?: { type: 'fluentbit' };
  user?: string;
  readonlyRootFilesystem?: boolean;
  /** Seconds between SIGTERM and SIGKILL (ECS default 30, Fargate maximum 120). */
  stopTimeout?: number;
}

/** Fargate's ceiling on a container's stopTimeout. */
const FARGATE_MAX_STOP_TIMEOUT_S = 120;

/** A stop timeout (s) that lets a service drain for `drainGraceMs` before it is killed, within Fargate's limit. */
export function stopTimeoutFor(drainGraceMs: number): number {
  return Math.min(FARGATE_MAX_STOP_TIMEOUT_S, Math.ceil(drainGraceMs / 1000) + 5);
}

const environment = (env: Record<string, string>): KeyValue[] =>
  Object.entries(env)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, value]) => ({ name, value }));

export interface AppContainerInput {
  name: string;
  image: string;
  env: Record<string, string>;
  port: number;
  /** Container health check command (CMD form), e.g. the image's node fetch of /healthz. */
  healthCommand?: string[];
  /** Loki push target and stream labels; without it the container's logs are not shipped. */
  loki?: { host: string; port: number; labels: Record<string, string> };
  entryPoint?: string[];
  command?: string[];
  secrets?: { name: string; valueFrom: string }[];
  /** The service's drain grace (ServicePlan.drainGraceMs): sets the container's stopTimeout. */
  drainGraceMs?: number;
}

/** The image's HEALTHCHECK, repeated for ECS (which ignores Dockerfile HEALTHCHECKs). */
export const nodeHealthCommand = (port = SERVICE_PORT) => [
  'CMD',
  'node',
  '-e',
  `fetch('http://127.0.0.1:${port}/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))`,
];

export function appContainer(input: AppContainerInput): ContainerDefinition {
  return {
    name: input.name,
    image: input.image,
    essential: true,
    ...(input.entryPoint ? { entryPoint: input.entryPoint } : {}),
    ...(input.command ? { command: input.command } : {}),
    environment: environment(input.env),
    ...(input.secrets ? { secrets: input.secrets } : {}),
    portMappings: [{ containerPort: input.port, protocol: 'tcp' }],
    ...(input.drainGraceMs !== undefined ? { stopTimeout: stopTimeoutFor(input.drainGraceMs) } : {}),
    ...(input.healthCommand ? { healthCheck: { command: input.healthCommand, interval: 10, timeout: 3, retries: 3, startPeriod: 15 } } : {}),
    ...(input.loki
      ? {
          logConfiguration: {
            logDriver: 'awsfirelens',
            options: {
              Name: 'loki',
              host: input.loki.host,
              port: String(input.loki.port),
              labels: Object.entries(input.loki.labels)
                .map(([k, v]) => `${k}=${v}`)
                .join(','),
              // The services already write JSON: ship the line as it is.
              line_format: 'json',
              remove_keys: 'container_id,ecs_task_arn',
            },
          },
        }
      : {}),
  };
}

/** The FireLens sidecar that routes the app container's stdout to Loki. */
export function logRouterContainer(): ContainerDefinition {
  return {
    name: 'log-router',
    image: LOG_ROUTER_IMAGE,
    // If the router stops, the service keeps serving (logs are lost, requests are not).
    essential: false,
    firelensConfiguration: { type: 'fluentbit' },
  };
}

/**
 * A shell entry point that writes config files from environment variables, then execs the
 * program: Fargate has no host files to mount, and the configs are small.
 */
export function writeFilesThenExec(files: Record<string, string>, exec: string[]): { entryPoint: string[]; command: string[]; env: Record<string, string> } {
  const env: Record<string, string> = {};
  const steps: string[] = [];
  Object.entries(files).forEach(([file, content], index) => {
    const variable = `CDN_LAB_FILE_${index}`;
    env[variable] = content;
    steps.push(`mkdir -p "$(dirname ${file})"`, `printf '%s' "$${variable}" > ${file}`);
  });
  const quoted = exec.map((arg) => `'${arg.replace(/'/g, `'\\''`)}'`).join(' ');
  return { entryPoint: ['/bin/sh', '-c'], command: [[...steps, `exec ${quoted}`].join(' && ')], env };
}
