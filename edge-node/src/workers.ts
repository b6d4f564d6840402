// EDGE_WORKERS > 1: one edge on every core, as nginx's `worker_processes`. A primary process forks N
// edge workers with node:cluster; they share nothing but the port. Where Node has SO_REUSEPORT
// (`reusePort`, Node 22.12/23.1 on Linux) and the port is fixed, each worker binds a socket of its
// own and the kernel spreads connections over them (nginx's `reuseport`); elsewhere (Node 20, or
// port 0) it is cluster's round-robin: the primary accepts each connection and hands it to the next
// worker. Each worker has its own cache of CACHE_BYTES / N (so a URL is cached once per worker that
// served it) and its own upstream pool.
// What must stay one edge to the outside goes through the primary: a purge reaches every worker,
// /metrics sums every worker's series, and the primary reports ready once every worker listens.
import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { reusePortAvailable, type Logger } from '@cdn-lab/service-kit';
import type { PurgeSelector } from './cache-store.ts';
import type { EdgeConfig } from './config.ts';

const PURGE = 'edge:purge';
const METRICS_REQUEST = 'edge:metrics-request';
const METRICS_ANSWER = 'edge:metrics-answer';

interface PurgeMessage {
  type: typeof PURGE;
  selector: PurgeSelector;
  soft: boolean;
}
interface MetricsRequest {
  type: typeof METRICS_REQUEST;
  id: number;
}
interface MetricsAnswer {
  type: typeof METRICS_ANSWER;
  id: number;
  text?: string;
  error?: string;
}
type LinkMessage = PurgeMessage | MetricsRequest | MetricsAnswer;

const isMessage = (message: unknown, type: LinkMessage['type']): boolean => (message as { type?: unknown } | null)?.type === type;

/** A worker's share of the edge's config: its part of the cache budget (and of CACHE_MAX_OBJECTS). */
export function workerShare(config: EdgeConfig): EdgeConfig {
  const n = config.workers;
  if (n <= 1) return config;
  return {
    ...config,
    cacheBytes: Math.max(1, Math.floor(config.cacheBytes / n)),
    ...(config.cacheMaxObjects !== undefined ? { cacheMaxObjects: Math.max(1, Math.floor(config.cacheMaxObjects / n)) } : {}),
  };
}

/** How connections reach the workers: each its own SO_REUSEPORT socket, or the primary's round-robin. */
export type WorkerDistribution = 'reuseport' | 'round-robin';

export function workerDistribution(config: EdgeConfig, available = reusePortAvailable()): WorkerDistribution {
  return config.workers > 1 && config.port !== 0 && available ? 'reuseport' : 'round-robin';
}

/** What a worker's edge asks of the others, through the primary. */
export interface WorkerLink {
  /** Every worker's series, summed (edge_upstream_up: the minimum). */
  metrics(): Promise<string>;
  /** Tells the other workers to apply a purge this worker applied. */
  purged(selector: PurgeSelector, soft: boolean): void;
  /** Applies purges the other workers received. */
  onPurge(apply: (selector: PurgeSelector, soft: boolean) => void): void;
  /** The registry whose series this worker contributes to the sum. */
  contribute(registry: Registry): void;
}

/** The link of this process when it is a cluster worker, else undefined. */
export function workerLink(): WorkerLink | undefined {
  if (!cluster.isWorker) return undefined;
  let nextId = 0;
  const waiting = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  process.on('message', (message: LinkMessage) => {
    if (!isMessage(message, METRICS_ANSWER)) return;
    const answer = message as MetricsAnswer;
    const waiter = waiting.get(answer.id);
    waiting.delete(answer.id);
    if (answer.text !== undefined) waiter?.resolve(answer.text);
    else waiter?.reject(new Error(`metrics from the other workers: ${answer.error ?? 'no answer'}`));
  });
  return {
    metrics: () =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        process.send!({ type: METRICS_REQUEST, id } satisfies MetricsRequest);
      }),
    purged: (selector, soft) => process.send!({ type: PURGE, selector, soft } satisfies PurgeMessage),
    onPurge: (apply) =>
      process.on('message', (message: LinkMessage) => {
        if (isMessage(message, PURGE)) apply((message as PurgeMessage).selector, (message as PurgeMessage).soft);
      }),
    contribute: (registry) => {
      AggregatorRegistry.setRegistries([registry]);
      // Constructing one installs prom-client's answer to the primary's metrics requests.
      new AggregatorRegistry();
    },
  };
}

/**
 * The primary: forks `config.workers` workers (each runs main.ts again and serves), reports ready to
 * its own parent once all listen, relays purges and metrics requests, replaces a worker that dies
 * after start-up, and on SIGTERM/SIGINT (or its parent going away) lets every worker drain, then exits 0.
 * A worker that dies during start-up (bad port, ...) stops them all: exit 1.
 */
export function runPrimary(config: EdgeConfig, logger: Logger): Promise<void> {
  const aggregator = new AggregatorRegistry();
  const ready = new Set<number>();
  let started = false;
  let stopping = false;
  const live = () => Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);

  const stopAll = (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason, workers: live().length }, 'stopping workers');
    const finish = () => {
      logger.flush?.();
      process.exit(code);
    };
    if (live().length === 0) finish();
    cluster.on('exit', () => {
      if (live().length === 0) finish();
    });
    for (const worker of live()) worker.process.kill('SIGTERM');
  };

  cluster.on('message', (worker, message: unknown) => {
    if ((message as { type?: unknown } | null)?.type === 'ready') {
      ready.add(worker.id);
      if (!started && ready.size === config.workers) {
        started = true;
        const port = (message as { port: number }).port;
        logger.info({ workers: config.workers, port, distribution: workerDistribution(config) }, 'all workers listening');
        process.send?.({ type: 'ready', service: 'edge-node', host: config.host, port });
      }
    } else if (isMessage(message, PURGE)) {
      for (const other of live()) if (other !== worker) other.send(message as PurgeMessage);
    } else if (isMessage(message, METRICS_REQUEST)) {
      const id = (message as MetricsRequest).id;
      aggregator.clusterMetrics().then(
        (text) => worker.send({ type: METRICS_ANSWER, id, text } satisfies MetricsAnswer),
        (error: Error) => worker.send({ type: METRICS_ANSWER, id, error: error.message } satisfies MetricsAnswer),
      );
    }
  });
  cluster.on('exit', (worker, code, signal) => {
    ready.delete(worker.id);
    if (stopping) return;
    if (!started) {
      logger.error({ code, signal }, 'a worker exited during start-up');
      stopAll('a worker failed to start', 1);
      return;
    }
    logger.error({ code, signal }, 'worker died: starting a replacement');
    cluster.fork();
  });
  process.once('SIGTERM', () => stopAll('SIGTERM', 0));
  process.once('SIGINT', () => stopAll('SIGINT', 0));
  if (process.send) process.once('disconnect', () => stopAll('parent disconnected', 0));
  for (let i = 0; i < config.workers; i++) cluster.fork();
  // The primary lives on its listeners; main's promise is done.
  return Promise.resolve();
}
