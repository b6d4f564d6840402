// Requests the cache takes no part in (other methods, preconditions): forwarded with their body,
// the response passed back, and §4.4 invalidation after an unsafe method. A POST's response may be
// stored for later GETs (RFC 9110 §9.3.3).
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import type { CacheStore } from './cache-store.ts';
import { EdgeError } from './errors.ts';
import { requestDirectives } from './http/cache-control.ts';
import { primaryKey } from './http/cache-key.ts';
import { appendCacheStatus, cacheStatus } from './http/cache-status.ts';
import { first } from './http/headers.ts';
import { NO_BODY } from './fill.ts';
import { BodyRelay } from './relay.ts';
import type { Exchange, Responder } from './respond.ts';
import { clientOf, type Routing } from './route.ts';
import { buildStoredResponse } from './stored-response.ts';
import { UpstreamError, type UpstreamHead } from './upstream.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);

export interface PassThroughDeps {
  edgeId: string;
  store: CacheStore;
  now: () => number;
  respond: Responder;
  routing: Routing;
  storeSetCookie: boolean | undefined;
  /** MAX_REQUEST_BODY_BYTES: larger request bodies get 413. */
  maxRequestBodyBytes: number;
}

export class PassThrough {
  private readonly deps: PassThroughDeps;
  private readonly store: CacheStore;
  private readonly now: () => number;
  private readonly respond: Responder;
  private readonly routing: Routing;

  constructor(deps: PassThroughDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.now = deps.now;
    this.respond = deps.respond;
    this.routing = deps.routing;
  }

  /**
   * Forwards a request the cache takes no part in (other methods, Authorization, preconditions). The
   * request body streams to the upstream (413 past MAX_REQUEST_BODY_BYTES: at once for a declared
   * length, else when the count passes it, which cuts the upstream request short), and the response
   * streams back unless it came whole with its head.
   */
  async passThrough(ex: Exchange, path: string, fwd: 'method' | 'bypass', detail: string | undefined): Promise<void> {
    const { req } = ex;
    const method = req.method as string;
    const upload = method === 'GET' || method === 'HEAD' ? undefined : requestBody(req, this.deps.maxRequestBodyBytes);
    // In a sharded fleet the owner gets it, so an unsafe method invalidates the one copy there is.
    const route = this.routing.routeFor(primaryKey(path), req);
    const headers = this.routing.forwardHeaders(clientOf(req), false, route.peer);
    let head: UpstreamHead;
    try {
      head = await route.upstream.open({ method, path, headers, body: upload?.body, bodyLength: upload?.length }, route.url);
    } catch (error) {
      upload?.check();
      if (error instanceof UpstreamError) return this.respond.upstreamFailed(ex, error, fwd, false);
      throw error;
    }
    // §4.4: a non-error response to an unsafe method invalidates the target and same-host Location/Content-Location.
    if (!SAFE_METHODS.has(method) && head.status < 400) {
      for (const target of [path, first(head.headers.location), first(head.headers['content-location'])]) {
        const local = target === undefined ? undefined : sameHostPath(target, req.headers.host);
        if (local !== undefined) this.store.invalidateUrl(primaryKey(local));
      }
    }
    const contentLocation = first(head.headers['content-location']);
    const whole = head.body.takeComplete();
    const response = buildStoredResponse({
      primaryKey: primaryKey(path),
      requestHeaders: req.headers,
      requestDirectives: requestDirectives(first(req.headers['cache-control']), first(req.headers.pragma)),
      method,
      status: head.status,
      headers: head.headers,
      body: whole ?? NO_BODY,
      bodyPending: whole === undefined,
      requestTime: head.requestTime,
      responseTime: whole === undefined ? this.now() : head.body.responseTime,
      via: this.deps.edgeId,
      negativeTtlMs: 0,
      storeSetCookie: this.deps.storeSetCookie,
      contentLocationIsTarget: method === 'POST' && contentLocation !== undefined && sameHostPath(contentLocation, req.headers.host) === path,
    });
    // A POST's response may answer later GETs (RFC 9110 §9.3.3), when it came whole with its head
    // (a streamed one is passed on only). A GET passed through for its preconditions (If-Match: 412
    // or a 200) is not stored: it answered that condition.
    const stored = method === 'POST' && whole !== undefined && route.store && response.storability.storable && this.store.put(response);
    const cs = appendCacheStatus(first(head.headers['cache-status']), cacheStatus({ fwd, stored, ...(detail ? { detail } : {}) }));
    const out = response.hitHeaders.slice();
    const upstreamAge = first(head.headers.age);
    if (upstreamAge !== undefined) out.push('age', upstreamAge);
    out.push('cache-status', cs);
    if (whole !== undefined) return this.respond.write(ex, response.status, out, whole, 'bypass');
    this.respond.serveStreamed(ex, { response, relay: new BodyRelay(head.body, 0), stored: false, tooLarge: false, upstreamCacheStatus: undefined }, fwd, out);
  }
}

/** The origin-form path of a Location/Content-Location value if it points at this host (§4.4). */
function sameHostPath(target: string, host: string | undefined): string | undefined {
  if (target.startsWith('/') && !target.startsWith('//')) return target;
  try {
    const url = new URL(target);
    if (host !== undefined && url.host.toLowerCase() === host.toLowerCase()) return `${url.pathname}${url.search}`;
  } catch {
    // Not a URL: nothing to invalidate.
  }
  return undefined;
}

/**
 * The client's request body as a stream for the upstream, counted: a declared Content-Length over
 * `limit` is refused before anything is sent (413); a body that passes `limit` as it streams fails
 * the upstream request (cut short, never complete), and `check()` then throws the 413. No body
 * (neither Content-Length nor Transfer-Encoding) is sent as an empty one, with its length.
 */
function requestBody(req: IncomingMessage, limit: number): { body: Buffer | Readable; length: number | undefined; check(): void } {
  const tooLarge = () => new EdgeError('bodyTooLarge', `request body larger than ${limit} bytes`);
  const declared = req.headers['content-length'];
  const length = declared === undefined ? undefined : Number(declared);
  if (length !== undefined && length > limit) throw tooLarge();
  if (length === 0 || (length === undefined && req.headers['transfer-encoding'] === undefined)) return { body: NO_BODY, length: 0, check() {} };
  let total = 0;
  let exceeded = false;
  let clientFailed: Error | undefined;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      total += chunk.length;
      if (total > limit) {
        exceeded = true;
        callback(tooLarge());
      } else {
        callback(null, chunk);
      }
    },
  });
  // Not pipeline(): it would destroy the client's request, and with it the socket the 413 must go out on.
  req.pipe(counter);
  req.on('error', (error) => {
    clientFailed = error;
    counter.destroy(error);
  });
  counter.on('error', () => {
    if (!exceeded) return;
    // The rest of the body is read and dropped, so the connection can carry the 413.
    req.unpipe(counter);
    req.resume();
  });
  return {
    body: counter,
    length,
    check() {
      if (exceeded) throw tooLarge();
      if (clientFailed) throw new EdgeError('badBody', `request body failed: ${clientFailed.message}`);
    },
  };
}
