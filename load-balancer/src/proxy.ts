// The proxying request path. One request, start to end:
//   1. Reject a target that is not a path (400). Key = path + query.
//   2. The algorithm picks a healthy backend (none: 502 `no_backend`).
//   3. Forward over a keep-alive agent: hop-by-hop headers stripped (RFC 9110 §7.6.1),
//      X-Forwarded-For / X-Forwarded-Proto added, the client's Host kept, the body streamed.
//   4. Response: status and end-to-end headers copied, `X-Served-By: <backend id>` added, body streamed.
//   5. No response because the connection failed (refused, reset): the backend is marked down
//      (passive health check; a reset on a reused keep-alive socket, which may be the backend
//      closing an idle socket, is confirmed first by a health probe on a fresh connection), and
//      a GET/HEAD without a body is retried on another backend, never one this request already
//      failed on (hash algorithms: the key's next node on the ring), until every backend was
//      tried, so a dying edge costs clients nothing; otherwise 502 `backend_unreachable`.
//      A response carrying the drain marker (service-kit DRAINING_FIELD) takes the backend out
//      of rotation too: it is shutting down and will refuse new connections.
//      No response within PROXY_TIMEOUT_MS: 504 `backend_timeout`, not retried (the backend may
//      still be working on it). Dropped mid-response: the client connection is cut too, because
//      a truncated body must not look complete.
//   6. Count it (lb_requests_total, lb_request_duration_seconds) and log one JSON line.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { DRAINING_FIELD, type Logger } from '@cdn-lab/service-kit';
import type { LoadBalancingAlgorithm, PickRequest } from './algorithms/types.ts';
import type { BackendState } from './backends.ts';
import type { HealthChecker } from './health.ts';
import { NO_BACKEND, type BackendErrorReason, type BalancerMetrics } from './metrics.ts';

/** Headers that describe one connection, never forwarded (RFC 9110 §7.6.1, RFC 9112 §9.6). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  // Node's server already answered `100 Continue` to the client; the backend gets the body anyway.
  'expect',
  // A draining service's marker (service-kit DRAINING_FIELD): about this connection's server only.
  DRAINING_FIELD,
]);

/** Copies `headers` without hop-by-hop ones, including any the Connection header names. */
export function stripHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const connection = headers.connection;
  const named = connection
    ? new Set(connection.split(',').map((token) => token.trim().toLowerCase()))
    : undefined;
  const result: OutgoingHttpHeaders = {};
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name)) continue;
    const value = headers[name];
    if (value !== undefined) result[name] = value;
  }
  return result;
}

/** The balancer's own errors: one catalogue, each a status and a JSON body `{ error, message }`. */
export const PROXY_ERRORS = {
  bad_request: { status: 400, message: 'request target must be a path, e.g. /obj/1' },
  no_backend: { status: 502, message: 'no healthy backend' },
  backend_unreachable: { status: 502, message: 'could not get a response from the backend' },
  backend_timeout: { status: 504, message: 'the backend did not answer in time' },
} as const;
export type ProxyErrorCode = keyof typeof PROXY_ERRORS;

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(payload) });
  res.end(payload);
}

function sendError(res: ServerResponse, code: ProxyErrorCode, backend?: string): number {
  const { status, message } = PROXY_ERRORS[code];
  if (!res.headersSent) sendJson(res, status, backend ? { error: code, message, backend } : { error: code, message });
  return status;
}

/** Connection failures before any response byte: which metric reason, and is the backend dead. */
function classify(error: NodeJS.ErrnoException): BackendErrorReason {
  switch (error.code) {
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'connect';
    default:
      return 'reset';
  }
}

class ProxyTimeoutError extends Error {
  override readonly name = 'ProxyTimeoutError';
}

/** `nginx`'s convention: the client went away before it had its answer. */
const CLIENT_CLOSED = 499;

export interface ProxyOptions {
  backends: readonly BackendState[];
  algorithm: LoadBalancingAlgorithm;
  health: HealthChecker;
  metrics: BalancerMetrics;
  logger: Logger;
  agent: http.Agent;
  proxyTimeoutMs: number;
}

/** Builds the request handler that proxies one request (see the steps at the top of this file). */
export function createProxy(options: ProxyOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { backends, algorithm, health, metrics, logger, agent, proxyTimeoutMs } = options;

  return function proxy(req, res) {
    const started = performance.now();
    const target = req.url ?? '';
    const method = req.method ?? 'GET';
    let retried = false;
    /** Backends this request failed on: created on the first failure, so a request that never fails pays nothing. */
    let tried: Set<string> | undefined;

    const complete = (backend: string, status: number, error?: string) => {
      const seconds = (performance.now() - started) / 1000;
      metrics.observeRequest(backend, status, seconds);
      logger.info({ method, url: target, backend, status, ms: Math.round(seconds * 1e4) / 10, retried, error }, 'proxied');
    };

    if (target[0] !== '/') {
      complete(NO_BACKEND, sendError(res, 'bad_request'));
      return;
    }

    const hasBody = (req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0') || req.headers['transfer-encoding'] !== undefined;
    // Only requests we can send again unchanged: idempotent and with no body already consumed.
    const retriable = (method === 'GET' || method === 'HEAD') && !hasBody;
    const headers = stripHopByHop(req.headers);
    const peer = req.socket.remoteAddress ?? 'unknown';
    const forwardedFor = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${peer}` : peer;
    headers['x-forwarded-proto'] ??= 'http';
    let request: PickRequest = { key: target };

    /**
     * Panic mode (as Envoy's panic threshold): when health checks have taken out every backend, a
     * slow health check is likelier than a dead fleet, so route as if all were healthy rather than
     * refuse everything; a backend that is really down still fails the connection and is retried.
     */
    const panicPick = (pickRequest: PickRequest): BackendState | undefined => {
      if (backends.length === 0 || backends.some((b) => b.healthy)) return undefined;
      const view = backends.map((b) => ({ id: b.id, url: b.url, healthy: true, inFlight: b.inFlight }));
      const chosen = algorithm.pick(pickRequest, view);
      if (chosen === undefined) return undefined;
      metrics.panicRouted();
      return backends.find((b) => b.id === chosen.id);
    };

    const attempt = () => {
      // The client may have left while a first attempt failed: nobody to answer, no retry.
      if (res.destroyed) {
        complete(NO_BACKEND, CLIENT_CLOSED, 'client closed');
        return;
      }
      const backend = (algorithm.pick(request, backends) as BackendState | undefined) ?? panicPick(request);
      if (backend === undefined) {
        complete(NO_BACKEND, sendError(res, 'no_backend'));
        return;
      }
      forward(backend);
    };

    const forward = (backend: BackendState) => {
      backend.inFlight++;
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        backend.inFlight--;
      };
      let responded = false;
      let clientGone = false;

      const upstream = http.request({
        agent,
        host: backend.hostname,
        port: backend.port,
        method,
        path: backend.basePath + target,
        headers,
        timeout: proxyTimeoutMs,
      });

      const onClientClose = () => {
        if (responded || res.writableFinished) return;
        clientGone = true;
        release();
        complete(backend.id, CLIENT_CLOSED, 'client closed');
        upstream.destroy();
      };
      res.once('close', onClientClose);

      upstream.on('timeout', () => upstream.destroy(new ProxyTimeoutError(`no answer within ${proxyTimeoutMs} ms`)));

      upstream.on('error', (error: NodeJS.ErrnoException) => {
        // After a response has begun, its stream reports failures (see the response handler).
        if (responded || clientGone) return;
        release();
        res.off('close', onClientClose);
        if (error instanceof ProxyTimeoutError) {
          metrics.backendError(backend.id, 'timeout');
          complete(backend.id, sendError(res, 'backend_timeout', backend.id), error.message);
          return;
        }
        const reason = classify(error);
        metrics.backendError(backend.id, reason);
        // A reset on a pooled connection may be the backend closing an idle keep-alive socket just
        // as we reused it (a race, not a dead backend), or a dead backend: a probe on a fresh
        // connection tells which. Either way this request goes elsewhere.
        const staleSocket = reason === 'reset' && upstream.reusedSocket;
        if (staleSocket) health.confirm(backend, reason, error.code ?? error.message);
        else health.markDown(backend, reason, error.code ?? error.message);
        tried ??= new Set();
        tried.add(backend.id);
        if (retriable && tried.size < backends.length) {
          retried = true;
          request = { key: target, exclude: tried };
          logger.debug({ backend: backend.id, code: error.code, staleSocket }, 'retrying on another backend');
          attempt();
          return;
        }
        complete(backend.id, sendError(res, 'backend_unreachable', backend.id), error.code ?? error.message);
      });

      upstream.on('response', (upstreamRes) => {
        responded = true;
        res.off('close', onClientClose);
        const status = upstreamRes.statusCode ?? 502;
        if (upstreamRes.headers[DRAINING_FIELD] !== undefined) health.markDown(backend, 'draining');
        const responseHeaders = stripHopByHop(upstreamRes.headers);
        responseHeaders['x-served-by'] = backend.id;
        res.writeHead(status, upstreamRes.statusMessage, responseHeaders);
        // pipe + two listeners rather than stream.pipeline: pipeline allocates an AbortController
        // and a DOMException per request, ~8% of the balancer's CPU in a profile under autocannon.
        let finished = false;
        const settle = (error?: string) => {
          if (finished) return;
          finished = true;
          release();
          complete(backend.id, status, error);
        };
        upstreamRes.on('error', (error) => {
          // The backend broke off mid-response; cut the client too, a truncated body must not look whole.
          metrics.backendError(backend.id, 'aborted');
          res.destroy();
          settle(`backend aborted: ${error.message}`);
        });
        res.on('close', () => {
          if (res.writableFinished) return settle();
          upstreamRes.destroy();
          settle('client closed');
        });
        upstreamRes.pipe(res);
      });

      if (retriable) upstream.end();
      else req.pipe(upstream);
    };

    attempt();
  };
}
