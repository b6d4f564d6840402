// Builds the balancer from its config: backends, algorithm, health checks, metrics and a plain
// `node:http` server (no framework: every request passes through here, so routing is two string
// compares). Nothing listens here; main.ts (or a test) does that.
//
// Own routes, answered by the balancer and never proxied (GET/HEAD only):
//   /healthz        200 {"status":"ok", ...}: the balancer process is up (even with no backend up:
//                   it then answers 502 itself, which is the truth a client should see)
//   /metrics        Prometheus text from the balancer's own registry
//   /_lb/backends   JSON: each backend's id, healthy, inFlight (ids, never addresses)
// With METRICS_PORT set, /metrics and /_lb/backends are served only by a second server (the
// operators' listener, `metricsServer`) and the clients' port refuses them like any internal path.
// Refused with 404 and never forwarded: every other spelling of the services' own routes
// (`/metrics/`, `/%6Detrics`, `/_admin/*`, `/_edge/*` ...: service-kit's isInternalPath). That
// includes an edge's purge: sent here it would reach one edge of the fleet, so operators purge each
// edge on its own address. A duplicate or invalid Host is a 400 (RFC 9112 §3.2).
// Everything else is proxied.
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  applyConnectionLimits,
  closeServer,
  connectionsCheckingIntervalMs,
  createLogger,
  hostProblem,
  isInternalPath,
  type Logger,
} from '@cdn-lab/service-kit';
import { createAlgorithm } from './algorithms/registry.ts';
import type { LoadBalancingAlgorithm } from './algorithms/types.ts';
import { createBackends, type BackendState } from './backends.ts';
import type { LbConfig } from './config.ts';
import { HealthChecker } from './health.ts';
import { createMetrics, NO_BACKEND, type BalancerMetrics } from './metrics.ts';
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
  /** The operators' listener (/metrics, /_lb/backends, /healthz) when METRICS_PORT is set; nothing listens yet. */
  metricsServer?: http.Server;
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

  const metricsApart = config.metricsPort !== undefined;
  /** Answers /healthz, and /metrics and /_lb/backends where `withMetrics`; false for any other path. */
  const ownRoute = (req: IncomingMessage, res: ServerResponse, path: string, withMetrics: boolean): boolean => {
    if (path !== '/healthz' && (!withMetrics || (path !== '/metrics' && path !== '/_lb/backends'))) return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: 'method_not_allowed', message: `${path} accepts GET and HEAD` });
      return true;
    }
    if (path === '/healthz') {
      const up = backends.filter((backend) => backend.healthy).length;
      sendJson(res, 200, { status: 'ok', lb: config.lbId, algorithm: config.algorithm, backendsUp: up, backends: backends.length });
    } else if (path === '/_lb/backends') {
      sendJson(res, 200, backends.map(({ id, healthy, inFlight }) => ({ id, healthy, inFlight })));
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

  /** Answers a request the balancer will not forward, counted and logged like a proxied one. */
  const refuse = (req: IncomingMessage, res: ServerResponse, status: 400 | 404, error: string, message: string) => {
    const started = performance.now();
    if (status === 400) res.setHeader('connection', 'close');
    sendJson(res, status, { error, message });
    metrics.observeRequest(NO_BACKEND, status, (performance.now() - started) / 1000);
    logger.info({ method: req.method, url: req.url, backend: NO_BACKEND, status, error }, 'refused');
  };

  const server = http.createServer({ connectionsCheckingInterval: connectionsCheckingIntervalMs(config) }, (req, res) => {
    const url = req.url ?? '';
    const badHost = hostProblem(req);
    if (badHost !== undefined) return refuse(req, res, 400, 'bad_host', badHost);
    if ((url.startsWith('/healthz') || url.startsWith('/metrics') || url.startsWith('/_lb/')) && ownRoute(req, res, pathOf(url), !metricsApart)) return;
    if (url.charCodeAt(0) === 0x2f /* / */ && isInternalPath(url)) {
      return refuse(req, res, 404, 'internal_path', 'this path is reserved for the services\' own use and is not forwarded (purge each edge on its own address)');
    }
    proxy(req, res);
  });
  applyConnectionLimits(server, config);
  // Malformed HTTP never reaches a handler: answer 400 and drop the connection, never crash.
  server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
    // The client left (reset, or closed mid-message): nobody to answer.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      socket.destroy();
      return;
    }
    // A header section not finished within HEADERS_TIMEOUT_MS (or a request within REQUEST_TIMEOUT_MS) is a 408.
    const status = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : error.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
  });

  // The operators' listener answers only the balancer's own routes: nothing on it is proxied.
  const metricsServer = metricsApart
    ? http.createServer((req, res) => {
        if (ownRoute(req, res, pathOf(req.url ?? ''), true)) return;
        sendJson(res, 404, { error: 'not_found', message: 'this listener serves /metrics, /_lb/backends and /healthz only' });
      })
    : undefined;
  if (metricsServer) applyConnectionLimits(metricsServer, config);

  if (deps.startHealthChecks ?? true) health.start();

  return {
    server,
    ...(metricsServer ? { metricsServer } : {}),
    backends,
    algorithm,
    metrics,
    health,
    logger,
    async close() {
      await health.stop();
      await Promise.all([closeServer(server), metricsServer?.listening ? closeServer(metricsServer, 0) : undefined]);
      agent.destroy();
    },
  };
}
