// The local backend: every service of a topology as a Node process on 127.0.0.1, started in
// dependency order, health-checked, and stopped together (also on Ctrl-C and on errors).
// Children are forked with an IPC channel: they report their port when ready and exit by
// themselves if this process dies, so a lab never leaves processes behind.
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync } from 'node:fs';
import path from 'node:path';
import getPort from 'get-port';
import type { ReadyMessage } from '@cdn-lab/service-kit';
import type { Topology } from '../topology.ts';
import { operatorEnv, planServices, resolveEnv, type ServicePlan } from '../plan.ts';
import { serviceBundle } from './bundle.ts';
import { startCacheServer } from './cache-servers.ts';
import { REPO_ROOT } from '../repo-root.ts';

export { REPO_ROOT };
const HOST = '127.0.0.1';

export interface LabService {
  plan: ServicePlan;
  url: string;
  port: number;
  /** Where Prometheus scrapes this service: its own URL, or the balancer's separate metrics listener. */
  metricsUrl: string;
  pid: number;
  logFile?: string;
  /** Settles when the process ends: its exit code, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface Lab {
  topology: Topology;
  services: LabService[];
  originUrls: string[];
  edgeUrls: string[];
  shieldUrl?: string;
  balancerUrl: string;
  /**
   * Bearer token of the origins' `/_admin/faults` and the edges' `/_edge/purge` (ADMIN_TOKEN), new for
   * every lab: operators call those routes on each service's own URL, never through the balancer.
   */
  adminToken: string;
  /** Stops every service (SIGTERM: each drains; SIGKILL if one is still there 5 s after its drain grace). Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartLabOptions {
  /** Folder for one log file per service (their JSON lines); without it, child output is discarded. */
  logDir?: string;
  /** How long one service may take to report ready. */
  readyTimeoutMs?: number;
  /** Called as each service comes up. */
  onServiceReady?: (service: LabService) => void;
  /** Extra environment for every service (e.g. LOG_LEVEL). */
  env?: Record<string, string>;
}

export class LabStartError extends Error {
  override name = 'LabStartError';
}

/** Every lab this process started and has not stopped: stopped on exit signals. */
const liveLabs = new Set<Lab>();
/** Other things to stop on exit signals (e.g. a Prometheus beside the lab). */
const cleanups = new Set<() => Promise<void>>();
let signalHandlersInstalled = false;

/** Runs `stop` when this process is interrupted (Ctrl-C, SIGTERM); returns a function to unregister it. */
export function stopOnSignal(stop: () => Promise<void>): () => void {
  installSignalHandlers();
  cleanups.add(stop);
  return () => cleanups.delete(stop);
}

function installSignalHandlers(): void {
  if (signalHandlersInstalled) return;
  signalHandlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal}: stopping ${liveLabs.size} lab(s)...\n`);
      const stops = [...[...liveLabs].map((lab) => lab.stop()), ...[...cleanups].map((stop) => stop())];
      void Promise.allSettled(stops).then(() => process.exit(130));
    });
  }
}

export async function startLab(topology: Topology, options: StartLabOptions = {}): Promise<Lab> {
  installSignalHandlers();
  const plans = planServices(topology);
  // Ports are chosen before anything starts because sharded edges must know their peers' URLs.
  const ports = new Map<string, number>();
  const taken = new Set<number>();
  for (const plan of plans) {
    const port = await getPort({ host: HOST, exclude: [...taken] });
    taken.add(port);
    ports.set(plan.id, port);
  }
  const urlOf = (id: string) => `http://${HOST}:${ports.get(id)}`;
  // A sharded fleet's edges trust each other's hop header only with this secret, new for every lab.
  const fleetSecret = randomBytes(24).toString('base64url');
  const adminToken = randomBytes(24).toString('base64url');
  if (options.logDir) mkdirSync(options.logDir, { recursive: true });

  /** How to stop each started service, in start order. */
  const stoppers: (() => Promise<void>)[] = [];
  const services: LabService[] = [];
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= Promise.all(stoppers.map((stopOne) => stopOne())).then(() => {
      liveLabs.delete(lab);
    });
    return stopped;
  };
  const lab: Lab = {
    topology,
    services,
    originUrls: [],
    edgeUrls: [],
    balancerUrl: '',
    adminToken,
    stop,
  };
  liveLabs.add(lab);

  try {
    for (const plan of plans) {
      const port = ports.get(plan.id)!;
      const logFile = options.logDir ? path.join(options.logDir, `${plan.id}.log`) : undefined;
      // The balancer's metrics listen apart from its clients' port (a free port, reported when ready).
      const operator = operatorEnv(plan, { adminToken, fleetSecret, balancerMetrics: { port: 0 } });
      const env = {
        ...pickEnv(process.env),
        ...options.env,
        ...resolveEnv(plan, urlOf),
        ...operator.secrets,
        ...operator.env,
        HOST,
        PORT: String(port),
      };
      const graceMs = plan.drainGraceMs + 5000;
      let child: ChildProcess;
      let ready: ReadyMessage | undefined;
      if (plan.cacheServer) {
        // A real cache server: its one upstream (origin or shield) is the first of UPSTREAM_URLS.
        const upstreamId = plan.links.UPSTREAM_URLS![0]!;
        let server;
        try {
          server = await startCacheServer({
            id: plan.id,
            plan: plan.cacheServer,
            listenPort: port,
            upstream: { host: HOST, port: ports.get(upstreamId)! },
            ...(logFile ? { logFile } : {}),
            readyTimeoutMs: options.readyTimeoutMs ?? 30_000,
          });
        } catch (error) {
          throw new LabStartError(`${plan.id}: ${(error as Error).message}`);
        }
        child = server.child;
        stoppers.push(() => server.stop(graceMs));
      } else {
        child = await spawnService(plan, env, logFile);
        stoppers.push(() => stopChild(child, graceMs));
        ready = await waitReady(child, plan, options.readyTimeoutMs ?? 20_000, logFile);
      }
      await waitHealthy(urlOf(plan.id), plan.id);
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve({ code: child.exitCode, signal: child.signalCode });
        else child.once('exit', (code, signal) => resolve({ code, signal }));
      });
      const metricsUrl = ready?.metricsPort !== undefined ? `http://${HOST}:${ready.metricsPort}` : urlOf(plan.id);
      const service: LabService = { plan, url: urlOf(plan.id), port, metricsUrl, pid: child.pid!, exited, ...(logFile ? { logFile } : {}) };
      services.push(service);
      options.onServiceReady?.(service);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  lab.originUrls = services.filter((s) => s.plan.role === 'origin').map((s) => s.url);
  lab.edgeUrls = services.filter((s) => s.plan.role === 'edge').map((s) => s.url);
  const shield = services.find((s) => s.plan.role === 'shield');
  if (shield) lab.shieldUrl = shield.url;
  lab.balancerUrl = services.find((s) => s.plan.role === 'balancer')!.url;
  return lab;
}

/** Only what a Node child needs from our environment; never the parent's service config. */
function pickEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const keep = ['PATH', 'HOME', 'TMPDIR', 'LANG', 'NODE_OPTIONS', 'LOG_LEVEL', 'TZ'];
  return Object.fromEntries(keep.flatMap((name) => (env[name] ? [[name, env[name]!]] : [])));
}

/** Forks the service's bundle (bundle.ts); an explicit empty execArgv so no parent loader is inherited. */
async function spawnService(plan: ServicePlan, env: Record<string, string>, logFile: string | undefined): Promise<ChildProcess> {
  let entry: string;
  try {
    entry = await serviceBundle(plan.kind);
  } catch (error) {
    throw new LabStartError(`${plan.id}: ${(error as Error).message}`);
  }
  const fd = logFile ? openSync(logFile, 'a') : 'ignore';
  const child = fork(entry, [], {
    cwd: REPO_ROOT,
    env,
    execArgv: [],
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  if (typeof fd === 'number') closeSync(fd);
  return child;
}

function waitReady(child: ChildProcess, plan: ServicePlan, timeoutMs: number, logFile?: string): Promise<ReadyMessage> {
  const where = logFile ? ` (see ${logFile})` : '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new LabStartError(`${plan.id} did not report ready within ${timeoutMs} ms${where}`)), timeoutMs);
    const onMessage = (message: unknown) => {
      if ((message as ReadyMessage)?.type === 'ready') finish(undefined, message as ReadyMessage);
    };
    const onExit = (code: number | null, signal: string | null) =>
      finish(new LabStartError(`${plan.id} exited before it was ready (code ${code}, signal ${signal})${where}`));
    const finish = (error?: Error, ready?: ReadyMessage) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      if (error || !ready) reject(error);
      else resolve(ready);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function waitHealthy(url: string, id: string, attempts = 50): Promise<void> {
  let lastError: unknown;
  for (let i = 0; i < attempts; i++) {
    try {
      const response = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) return;
      lastError = new Error(`status ${response.status}`);
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LabStartError(`${id} is not healthy at ${url}/healthz: ${String(lastError)}`);
}

/** SIGTERM (the service drains, then exits), and SIGKILL if it is still there after `graceMs`. */
function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
