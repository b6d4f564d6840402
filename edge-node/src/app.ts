// Builds an edge node from its config: cache store, metrics, upstreams, the proxy logic, and one
// node:http server. A fresh hit is answered inside the server's own request handler (the fast path);
// every other proxied request (misses, stale, revalidation, pass-through, errors) goes to the proxy's
// full logic on the same plain node:http objects. Only the local routes (/healthz, /metrics, /_edge/*)
// run in an express app: its router, request decoration and listeners cost as much as the miss
// itself did. No listening here.
import http, { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import {
  applyConnectionLimits,
  bearerToken,
  closeServer,
  connectionsCheckingIntervalMs,
  createLogger,
  formatIssues,
  hostProblem,
  secretCheck,
  type Logger,
} from '@cdn-lab/service-kit';
import { HashRing } from '@cdn-lab/service-kit';
import { CacheStore, type PurgeSelector } from './cache-store.ts';
import { Coalescer } from './coalescer.ts';
import type { EdgeConfig } from './config.ts';
import { EdgeError } from './errors.ts';
import { originFormTarget } from './http/cache-key.ts';
import { cacheStatus } from './http/cache-status.ts';
import { EdgeMetrics } from './metrics.ts';
import { EdgeProxy, exchangeOf, isLocalPath, type Exchange, type PeerRouting } from './proxy.ts';
import { BodyReclaimer, majorGc, type MajorGc } from './reclaim.ts';
import { Upstream } from './upstream.ts';
import type { WorkerLink } from './workers.ts';

export interface EdgeDeps {
  logger?: Logger;
  /** Clock in ms (freshness and Age); tests inject one to move time without sleeping. */
  now?: () => number;
  /** Export prom-client's process metrics too (default true). */
  defaultMetrics?: boolean;
  /** Requests a major GC once enough bodies were evicted (default: V8's gc(), see reclaim.ts). */
  collectGarbage?: MajorGc;
  /** In a cluster worker (EDGE_WORKERS > 1): purges and /metrics reach every worker through it. */
  workers?: WorkerLink;
}

export interface Edge {
  server: http.Server;
  store: CacheStore;
  metrics: EdgeMetrics;
  coalescer: Coalescer;
  /** Closes the server (if listening) and the upstream connection pools. */
  close(): Promise<void>;
}

/** Evicted bytes worth a major GC: this share of the cache budget, but at least RECLAIM_MIN_BYTES. */
const RECLAIM_BUDGET_SHARE = 16;
const RECLAIM_MIN_BYTES = 1024 * 1024;
const RECLAIM_MIN_INTERVAL_MS = 1000;

/** Cache-Status for answers the edge generates itself (health, metrics, admin). */
const LOCAL_STATUS = cacheStatus({ detail: 'local' });

const purgeSchema = z
  .object({
    url: z.string().min(1).optional(),
    prefix: z.string().startsWith('/').optional(),
    tag: z.string().min(1).optional(),
    soft: z.boolean().default(false),
  })
  .strict()
  .refine((body) => [body.url, body.prefix, body.tag].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of "url", "prefix", "tag"',
  });

export function createEdge(config: EdgeConfig, deps: EdgeDeps = {}): Edge {
  const logger = deps.logger ?? createLogger({ service: 'edge-node', level: config.logLevel, base: { edge: config.edgeId, policy: config.cachePolicy } });
  const now = deps.now ?? Date.now;
  const evictions: { metrics?: EdgeMetrics } = {};
  const reclaimer = new BodyReclaimer({
    thresholdBytes: Math.max(RECLAIM_MIN_BYTES, config.cacheBytes / RECLAIM_BUDGET_SHARE),
    minIntervalMs: RECLAIM_MIN_INTERVAL_MS,
    now,
    collect: deps.collectGarbage ?? majorGc(),
  });
  const store = new CacheStore({
    policy: config.cachePolicy,
    capacityBytes: config.cacheBytes,
    maxObjects: config.cacheMaxObjects,
    onRemove: (reason) => evictions.metrics?.eviction(reason),
    reclaimer,
  });
  const metrics = new EdgeMetrics({ edgeId: config.edgeId, policy: config.cachePolicy, cache: store, defaultMetrics: deps.defaultMetrics ?? true });
  evictions.metrics = metrics;
  deps.workers?.contribute(metrics.registry);
  deps.workers?.onPurge((selector, soft) => {
    const purged = store.purge(selector, soft);
    logger.info({ selector, soft, purged }, 'purge (from another worker)');
  });

  const upstreamOptions = {
    timeoutMs: config.upstreamTimeoutMs,
    delayMs: config.upstreamDelayMs,
    maxFails: config.upstreamMaxFails,
    failTimeoutMs: config.upstreamFailTimeoutMs,
    metrics,
    now,
    logger,
  };
  const upstream = config.parentUrl
    ? new Upstream({ ...upstreamOptions, kind: 'parent', urls: [config.parentUrl] })
    : new Upstream({ ...upstreamOptions, kind: 'origin', urls: config.upstreamUrls });
  const upstreams = [upstream];
  let peers: PeerRouting | undefined;
  if (config.peerUrls.length > 0 && config.selfUrl !== undefined) {
    const self = config.selfUrl.replace(/\/+$/, '');
    const peerUpstream = new Upstream({ ...upstreamOptions, kind: 'peer', urls: config.peerUrls.map((peer) => peer.url) });
    upstreams.push(peerUpstream);
    const ring = new HashRing(config.peerUrls.map((peer) => peer.id));
    peers = {
      upstream: peerUpstream,
      ownerOf: (key) => ring.lookup(key),
      selfId: config.peerUrls.find((peer) => peer.url === self)?.id ?? self,
      urlOf: new Map(config.peerUrls.map((peer) => [peer.id, peer.url])),
    };
  }

  const coalescer = new Coalescer(config.coalescing);
  const proxy = new EdgeProxy({
    edgeId: config.edgeId,
    store,
    metrics,
    logger,
    now,
    coalescer,
    upstream,
    peers,
    negativeTtlMs: config.negativeTtlS * 1000,
    serveStale: config.serveStale,
    storeSetCookie: config.storeSetCookie,
    clientDelayMs: config.clientDelayMs,
    // Hit heads announce the server's idle timeout in their Keep-Alive field.
    keepAliveTimeoutMs: config.keepAliveTimeoutMs,
    accessLogHitSample: config.accessLogHitSample,
    // An object larger than the budget would be refused by the policy anyway: never kept in memory.
    maxObjectBytes: Math.min(config.maxObjectBytes, config.cacheBytes),
    maxRequestBodyBytes: config.maxRequestBodyBytes,
    rangeSliceBytes: config.rangeSliceBytes,
    fleetSecret: config.fleetSecret,
  });

  const abortAfterError = (error: unknown, req: http.IncomingMessage, res: http.ServerResponse) => {
    logger.error({ err: String(error), path: req.url }, 'error after response started');
    res.destroy();
  };
  /**
   * The client closed its connection before its request was read or answered (e.g. an aborted
   * upload): nobody to answer, counted once as 499 (nginx's "client closed request", a 4xx), and
   * not an error of the edge's.
   */
  const clientWentAway = (req: http.IncomingMessage, res: http.ServerResponse): boolean => !res.headersSent && (req.socket?.destroyed ?? true);
  /** EdgeError as it is, a client body error as a 4xx, anything else (a bug) as a logged 500. */
  const classifyError = (error: unknown, req: http.IncomingMessage): { edgeError: EdgeError; status: number } => {
    if (error instanceof EdgeError) return { edgeError: error, status: error.status };
    if (isClientHttpError(error)) return { edgeError: new EdgeError('badBody', error.message), status: error.status };
    logger.error({ err: error instanceof Error ? error.stack : String(error), path: req.url }, 'unhandled error');
    return { edgeError: new EdgeError('internal', 'internal error'), status: 500 };
  };

  const app = express();
  app.disable('x-powered-by');
  // Local routes match exactly, so anything else (e.g. /HEALTHZ or /metrics/) is proxied like any path.
  app.enable('case sensitive routing');
  app.enable('strict routing');
  app.disable('etag');
  app.use((req, res, next) => {
    if (isLocalPath(req.url)) {
      res.setHeader('cache-status', LOCAL_STATUS);
      res.setHeader('cache-control', 'no-store');
      res.on('finish', () => logger.info({ method: req.method, path: req.url, status: res.statusCode, result: 'local' }));
    }
    next();
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await (deps.workers ? deps.workers.metrics() : metrics.registry.metrics()));
  });
  app.post('/_edge/purge', requireAdmin(config.adminToken), express.json({ limit: '64kb' }), (req, res) => {
    const parsed = purgeSchema.safeParse(req.body ?? {});
    if (!parsed.success) {
      res.status(400).json({ error: 'bad_purge_request', message: formatIssues(parsed.error).join('; ') });
      return;
    }
    const { soft, url, prefix, tag } = parsed.data;
    let selector: PurgeSelector;
    if (url !== undefined) selector = { url: originFormTarget(url.replace(/^https?:\/\/[^/]+/i, ''), undefined) };
    else if (prefix !== undefined) selector = { prefix };
    else selector = { tag: tag as string };
    const purged = store.purge(selector, soft);
    deps.workers?.purged(selector, soft);
    logger.info({ selector, soft, purged }, 'purge');
    // With EDGE_WORKERS > 1, `purged` counts this worker's entries; the others purge the same selector.
    res.json({ purged, soft });
  });
  // Local paths never fall through to the proxy.
  app.all(['/healthz', '/metrics'], (_req, res) => {
    res.setHeader('allow', 'GET, HEAD');
    res.status(405).json({ error: 'method_not_allowed', message: 'use GET' });
  });
  app.use('/_edge', (_req, res) => {
    res.status(404).json({ error: 'not_found', message: 'no such admin endpoint (POST /_edge/purge)' });
  });
  // Only local routes run in express, so its errors are answered locally (JSON, no Cache-Status of the proxy).
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return abortAfterError(error, req, res);
    const { edgeError, status } = classifyError(error, req);
    res.status(status).json({ error: edgeError.code, message: edgeError.message });
  });

  /** Everything but the local routes: the proxy's own logic on plain node:http, never through express. */
  const proxyRequest = (exchange: Exchange) => {
    const { req, res } = exchange;
    proxy.handle(exchange).catch((error: unknown) => {
      if (clientWentAway(req, res)) {
        logger.info({ method: req.method, path: req.url, err: String(error) }, 'client closed the connection before the answer');
        return proxy.finish(exchange, 'error', CLIENT_CLOSED_REQUEST, 0);
      }
      if (res.headersSent) return abortAfterError(error, req, res);
      const { edgeError } = classifyError(error, req);
      proxy.sendError(exchange, edgeError, cacheStatus({ detail: edgeError.code }), 'error');
    });
  };

  // requireHostHeader is off so a missing Host gets our 400 (with Cache-Status), not Node's bare one.
  const server = http.createServer({ requireHostHeader: false, connectionsCheckingInterval: connectionsCheckingIntervalMs(config) }, (req, res) => {
    let fast: true | Exchange;
    try {
      fast = proxy.tryFastPath(req, res);
    } catch (error) {
      // Last resort: the fast path only reads stored data, but a bug there must not take the process down.
      logger.error({ err: error instanceof Error ? error.stack : String(error), path: req.url }, 'fast path failed');
      if (res.headersSent) {
        res.destroy();
        return;
      }
      fast = exchangeOf(req, res);
    }
    if (fast === true) return;
    // A bad Host (RFC 9112 §3.2) goes to the proxy, whose checks answer it 400, local route or not.
    const hostOk = hostProblem(req) === undefined;
    let url = req.url as string;
    if (url.charCodeAt(0) !== 0x2f /* / */ && hostOk) {
      // Absolute-form (RFC 9112 §3.2.2) is routed by its path, like origin-form: `POST
      // http://<edge>/_edge/purge` reaches the purge route (and its token check), never the origin.
      try {
        url = req.url = originFormTarget(url, req.headers.host);
      } catch {
        // Not a target this edge serves: the proxy's own checks answer it with the right 4xx.
      }
    }
    if (hostOk && isLocalPath(url)) app(req, res);
    else proxyRequest(fast);
  });
  applyConnectionLimits(server, config);
  /** Answers on the raw socket (the request never became an IncomingMessage/ServerResponse pair) and closes. */
  const rejectRaw = (socket: Duplex, status: number, code: string, message: string, detail: string) => {
    const body = JSON.stringify({ error: code, message });
    socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
        `cache-status: ${cacheStatus({ detail })}\r\nconnection: close\r\n\r\n${body}`,
    );
    metrics.request('error', status, 0, Buffer.byteLength(body));
    logger.warn({ status, result: 'error', code, message }, 'request rejected');
  };
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // The client left (reset, or closed mid-message): nobody to answer. A request already being
    // handled is counted there, once, as 499.
    if (error.code === 'ECONNRESET' || error.code === 'HPE_INVALID_EOF_STATE' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = error.code === 'HPE_HEADER_OVERFLOW' ? 431 : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    rejectRaw(socket, status, status === 431 ? 'request_header_fields_too_large' : 'malformed_request', error.message, 'malformed-request');
  });
  // A reverse proxy does not tunnel: CONNECT gets 405 instead of Node's silent close.
  server.on('connect', (_req: http.IncomingMessage, socket: Duplex) => {
    rejectRaw(socket, 405, 'method_not_allowed', 'CONNECT is not supported', 'method-not-allowed');
  });

  return {
    server,
    store,
    metrics,
    coalescer,
    async close() {
      await closeServer(server);
      for (const u of upstreams) u.close();
    },
  };
}

function isClientHttpError(error: unknown): error is { status: number; message: string } {
  const status = (error as { status?: unknown } | null)?.status;
  return typeof status === 'number' && status >= 400 && status < 500;
}

/** nginx's status for a client that closed the connection before it was answered. */
const CLIENT_CLOSED_REQUEST = 499;

/** Bearer-token check for admin routes; compared in constant time. No token configured: admin is off (404). */
function requireAdmin(token: string | undefined) {
  const matches = token === undefined ? undefined : secretCheck(token);
  return (req: Request, res: Response, next: NextFunction) => {
    if (matches === undefined) {
      res.status(404).json({ error: 'admin_disabled', message: 'admin endpoints are disabled: ADMIN_TOKEN is not set' });
      return;
    }
    if (!matches(bearerToken(req.headers.authorization))) {
      res.setHeader('www-authenticate', 'Bearer realm="cdn-lab-edge"');
      res.status(401).json({ error: 'unauthorized', message: 'missing or wrong bearer token' });
      return;
    }
    next();
  };
}
