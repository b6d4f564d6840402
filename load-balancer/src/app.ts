// Builds the balancer from its config: backends, algorithm, health checks, metrics and a plain
// `node:http` server (no framework: every request passes through here, so routing is two string
// compares). Nothing listens here; main.ts (or a test) does that.
//
// Own routes, answered by the balancer and never proxied (GET/HEAD only):
//   /healthz        200 {"status":"ok", ...}: the balancer process is up (even with no backend up:
//                   it then answers 502 itself, which is the truth a client should see)
//   /metrics        Prometheus text from the balancer's own registry
//   /_lb/backends   JSON: each backend's id, url, healthy, inFlight (for the lab and for people)
// Everything else is proxied, including any other path under /_lb/ (reserved for later use).
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, createLogger, type Logger } from '@cdn-lab/service-kit';
import { createAlgorithm } from './algorithms/registry.ts';
import type { LoadBalancingAlgorithm } from './algorithms/types.ts';
import { createBackends, type BackendState } from './backends.ts';
import type { LbConfig } from './config.ts';
import { HealthChecker } from './health.ts';
import { createMetrics, type BalancerMetrics } from './metrics.ts';
import { createProxy, sendJson } from './proxy.ts';

export const SERVICE_NAME = 'load-balancer';

export interface BalancerDeps {
  /** Defaults to a pino logger on stdout bound to `{ lb, algorithm }`. */
  logger?: Logger;
  /** Start active health checks at once (default true); tests may drive `health.checkNow()`. */
  startHealthChecks?: boolean;
  /** Include process/runtime metrics on /metrics (default true). */
  processMetrics?: boolean;
}

export interface Balancer {
  server: http.Server;
  backends: BackendState[];
  algorithm: LoadBalancingAlgorithm;
  metrics: BalancerMetrics;
  health: HealthChecker;
  logger: Logger;
  /** Stops health checks, closes the server if it listens, and drops pooled backend connections. */
  close(): Promise<void>;
}

/** Path without the query, for matching the balancer's own routes. */
function pathOf(url: string): string {
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

export function createBalancer(config: LbConfig, deps: BalancerDeps = {}): Balancer {
  const logger = deps.logger ?? createLogger({ service: SERVICE_NAME, base: { lb: config.lbId, algorithm: config.algorithm } });
  const backends = createBackends(config.backends);
  const algorithm = createAlgorithm(config.algorithm, {
    seed: config.seed,
    epsilon: config.boundedLoadEpsilon,
    virtualNodes: config.hashVirtualNodes,
  });
  const metrics = createMetrics({
    lbId: config.lbId,
    algorithm: config.algorithm,
    backends,
    processMetrics: deps.processMetrics ?? true,
  });
  const health = new HealthChecker({
    backends,
    path: config.healthPath,
    intervalMs: config.healthIntervalMs,
    timeoutMs: config.healthTimeoutMs,
    unhealthyThreshold: config.healthUnhealthyThreshold,
    metrics,
    logger,
  });
  // One pool of keep-alive connections per backend. A timeout makes Node honour the backends'
  // `Keep-Alive: timeout=N` hint, closing idle sockets just before the backend would.
  const agent = new http.Agent({ keepAlive: true, maxFreeSockets: 1024, scheduling: 'lifo', timeout: 60_000 });
  const proxy = createProxy({ backends, algorithm, health, metrics, logger, agent, proxyTimeoutMs: config.proxyTimeoutMs });

  const ownRoute = (req: IncomingMessage, res: ServerResponse, path: string): boolean => {
    if (path !== '/healthz' && path !== '/metrics' && path !== '/_lb/backends') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method_not_allowed', message: `${path} accepts GET and HEAD` });
      return true;
    }
    if (path === '/healthz') {
      const up = backends.filter((backend) => backend.healthy).length;
      sendJson(res, 200, { status: 'ok', lb: config.lbId, algorithm: config.algorithm, backendsUp: up, backends: backends.length });
    } else if (path === '/_lb/backends') {
      sendJson(res, 200, backends.map(({ id, url, healthy, inFlight }) => ({ id, url, healthy, inFlight })));
    } else {
      metrics.registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(text);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'metrics collection failed');
          sendJson(res, 500, { error: 'metrics_failed', message: String(error) });
        },
      );
    }
    return true;
  };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if ((url.startsWith('/healthz') || url.startsWith('/metrics') || url.startsWith('/_lb/')) && ownRoute(req, res, pathOf(url))) return;
    proxy(req, res);
  });
  // Malformed HTTP never reaches a handler: answer 400 and drop the connection, never crash.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    if (error.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
  });

  if (deps.startHealthChecks ?? true) health.start();

  return {
    server,
    backends,
    algorithm,
    metrics,
    health,
    logger,
    async close() {
      await health.stop();
      await closeServer(server);
      agent.destroy();
    },
  };
}
