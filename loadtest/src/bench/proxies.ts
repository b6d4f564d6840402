// The contenders: the lab's edge node, nginx proxy_cache (with a buffered access log, and without
// one) and Varnish, each started in front of the same origin, pinned to the same core, and stopped
// after its measurement. Plus two references:
// `bare-node` (bare-node.ts: node:http and a Map, the floor of any proxy written on node:http) and
// `origin`, the origin measured directly: the ceiling for misses.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import path from 'node:path';
import getPort from 'get-port';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import { SERVICE_PROGRAMS } from '@cdn-lab/infra/plan';
import { edgeProcessEnv } from '@cdn-lab/edge-node/config';
import { renderBenchNginx } from './nginx.ts';
import { renderBenchVarnish } from './varnish.ts';
import { readMemory, startNodeService, startProgram, stopProcess, waitForHttp, type Memory, type Pinning } from '@cdn-lab/infra/local/processes';

/**
 * `edge-nolog`: the edge at LOG_LEVEL=warn, writing no access line: what the log path costs, by
 * difference. Not in the default run (DEFAULT_PROXIES).
 */
export const PROXY_NAMES = ['nginx', 'nginx-nolog', 'varnish', 'edge', 'bare-node', 'edge-nolog'] as const;
export type ProxyName = (typeof PROXY_NAMES)[number];
export const DEFAULT_PROXIES: readonly ProxyName[] = ['nginx', 'nginx-nolog', 'varnish', 'edge', 'bare-node'];
/** What a measurement is aimed at: a proxy, or the origin itself (the miss ceiling). */
export type TargetName = ProxyName | 'origin';

export interface Target {
  name: TargetName;
  url: string;
  pid: number;
  /** Whether a response's headers say it was served from this proxy's cache. */
  isHit(headers: Headers): boolean;
  memory(): Promise<Memory | undefined>;
  stop(): Promise<void>;
}

export interface Tools {
  wrk?: string;
  nginx?: string;
  varnishd?: string;
  taskset?: string;
}

export interface ProxyContext {
  originPort: number;
  /** Private scratch folder of this run (0755: varnishd's unprivileged child must read the VCL). */
  scratchDir: string;
  /** Folder for the proxies' logs. */
  logDir: string;
  pinning: Pinning;
  tools: Tools;
  cacheBytes: number;
  /**
   * Where the edge's stdout (its JSON log lines) goes: `file`, a file in logDir on disk, as the
   * Docker and systemd deployments write it; `discard`, /dev/null (formatting and write calls paid, the file system not).
   */
  edgeLog: EdgeLogDestination;
  /** Extra Node flags for the edge, e.g. --cpu-prof. */
  edgeExecArgv: string[];
  /** Worker processes of the edge (EDGE_WORKERS) and of nginx (worker_processes); 1 unless --workers. */
  workers: number;
}

export const EDGE_LOG_DESTINATIONS = ['file', 'discard'] as const;
export type EdgeLogDestination = (typeof EDGE_LOG_DESTINATIONS)[number];

const HOST = '127.0.0.1';
export const EDGE_ENTRY = SERVICE_PROGRAMS.edge.entry;
export const BARE_NODE_PROGRAM = { name: 'bare-node', entry: 'loadtest/src/bench/bare-node-main.ts' };

/** Why a proxy cannot run here, or undefined when it can. */
export function unavailableReason(name: ProxyName, tools: Tools): string | undefined {
  if ((name === 'nginx' || name === 'nginx-nolog') && !tools.nginx) return `${name}: not installed, skipped (apt-get install nginx)`;
  if (name === 'varnish' && !tools.varnishd) return 'varnish: not installed, skipped (apt-get install varnish)';
  if ((name === 'edge' || name === 'edge-nolog') && !existsSync(path.join(REPO_ROOT, EDGE_ENTRY))) return `${name}: ${EDGE_ENTRY} not found, skipped`;
  return undefined;
}

/** Only what a Node child needs from our environment. */
export function baseEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'TZ'];
  return Object.fromEntries(keep.flatMap((name) => (env[name] ? [[name, env[name]!]] : [])));
}

/**
 * The edge's environment for the bench (the edge's own `edgeProcessEnv`, as the lab's): LRU over
 * CACHE_BYTES, the origin as the only upstream, coalescing, metrics and per-request logs on.
 */
export function edgeBenchEnv(port: number, originUrl: string, cacheBytes: number): Record<string, string> {
  return edgeProcessEnv({ host: HOST, port, edgeId: 'edge-bench', upstreamUrls: [originUrl], cachePolicy: 'lru', cacheBytes, logLevel: 'info' });
}

let instance = 0;

export async function startProxy(name: ProxyName, ctx: ProxyContext): Promise<Target> {
  const port = await getPort({ host: HOST });
  const url = `http://${HOST}:${port}`;
  const n = ++instance;
  if (name === 'edge' || name === 'edge-nolog') {
    const logFile = path.join(ctx.logDir, `${name}-${n}.log`);
    const service = await startNodeService({
      name,
      program: 'edge',
      env: {
        ...baseEnv(),
        ...edgeBenchEnv(port, `http://${HOST}:${ctx.originPort}`, ctx.cacheBytes),
        EDGE_WORKERS: String(ctx.workers),
        ...(name === 'edge-nolog' ? { LOG_LEVEL: 'warn' } : {}),
      },
      pinning: ctx.pinning,
      logFile,
      stdout: ctx.edgeLog === 'file' ? 'log' : 'discard',
      execArgv: ctx.edgeExecArgv,
    });
    return {
      name,
      url: `http://${HOST}:${service.port}`,
      pid: service.pid,
      isHit: (headers) => /;\s*hit\b/.test(headers.get('cache-status') ?? ''),
      memory: () => readMemory(service.pid),
      stop: () => stopProcess(service.child),
    };
  }
  if (name === 'bare-node') {
    const service = await startNodeService({
      name,
      program: BARE_NODE_PROGRAM,
      env: { ...baseEnv(), PORT: String(port), ORIGIN_URL: `http://${HOST}:${ctx.originPort}` },
      pinning: ctx.pinning,
      logFile: path.join(ctx.logDir, `bare-node-${n}.log`),
    });
    return {
      name,
      url: `http://${HOST}:${service.port}`,
      pid: service.pid,
      isHit: (headers) => headers.get('x-cache') === 'HIT',
      memory: () => readMemory(service.pid),
      stop: () => stopProcess(service.child),
    };
  }
  if (name === 'nginx' || name === 'nginx-nolog') {
    const prefix = await mkdtemp(path.join(ctx.scratchDir, 'nginx-'));
    const isRoot = process.getuid?.() === 0;
    // The access log goes to the run's log folder on disk, like the edge's lines.
    const accessLog = name === 'nginx' ? path.join(ctx.logDir, `nginx-${n}.access.log`) : undefined;
    const rendered = renderBenchNginx({
      prefix,
      port,
      originPort: ctx.originPort,
      cacheBytes: ctx.cacheBytes,
      workers: ctx.workers,
      ...(accessLog ? { accessLog } : {}),
      ...(isRoot ? { user: 'root' } : {}),
    });
    for (const [file, text] of Object.entries(rendered.files)) await writeFile(path.join(prefix, file), text);
    const logFile = path.join(ctx.logDir, `${name}-${n}.log`);
    const child = startProgram({ name, command: ctx.tools.nginx!, args: rendered.args, pinning: ctx.pinning, logFile });
    await waitForHttp(`${url}/healthz`, child, 'nginx', 20_000, `${logFile} and ${prefix}/error.log`).catch(async (error: unknown) => {
      await stopProcess(child);
      throw error;
    });
    return {
      name,
      url,
      pid: child.pid!,
      isHit: (headers) => headers.get('x-cache-status') === 'HIT',
      memory: () => readMemory(child.pid!),
      // SIGQUIT: graceful shutdown of master and worker.
      stop: () => stopProcess(child, 'SIGQUIT'),
    };
  }
  const dir = await mkdtemp(path.join(ctx.scratchDir, 'varnish-'));
  await chmod(dir, 0o755);
  const rendered = renderBenchVarnish({ port, originPort: ctx.originPort, dir, storageBytes: ctx.cacheBytes });
  for (const [file, text] of Object.entries(rendered.files)) await writeFile(path.join(dir, file), text);
  const logFile = path.join(ctx.logDir, `varnish-${n}.log`);
  const child = startProgram({
    name,
    command: ctx.tools.varnishd!,
    args: rendered.args,
    pinning: ctx.pinning,
    logFile,
  });
  await waitForHttp(`${url}/healthz`, child, 'varnish', 30_000, logFile).catch(async (error: unknown) => {
    await stopProcess(child);
    throw error;
  });
  return {
    name,
    url,
    pid: child.pid!,
    isHit: (headers) => headers.get('x-cache') === 'HIT',
    // The manager's pid; the cache lives in its child process, so this undercounts Varnish's memory.
    memory: () => readMemory(child.pid!),
    stop: () => stopProcess(child),
  };
}

export interface OriginSpec {
  env: Record<string, string>;
  pinning: Pinning;
  logDir: string;
}

/** Starts the lab's origin (its logs at `warn`: the origin is the fixture here, not the subject). */
export async function startOrigin(spec: OriginSpec): Promise<Target & { port: number }> {
  const logFile = path.join(spec.logDir, `origin-${++instance}.log`);
  await mkdir(spec.logDir, { recursive: true });
  const service = await startNodeService({
    name: 'origin',
    program: 'origin',
    env: { ...baseEnv(), LOG_LEVEL: 'warn', ...spec.env, HOST, PORT: '0' },
    pinning: spec.pinning,
    logFile,
  });
  return {
    name: 'origin',
    url: `http://${HOST}:${service.port}`,
    port: service.port,
    pid: service.pid,
    isHit: () => false,
    memory: () => readMemory(service.pid),
    stop: () => stopProcess(service.child),
  };
}
