// The edge's request path (RFC 9111), step by step: the fast path answers fresh hits from the
// node:http handler; `handle` validates the target, looks the request up, and takes the decision
// (decision.ts) to its step: respond from the entry (respond.ts), fill from upstream (fill.ts,
// range-fill.ts), or forward without the cache (pass-through.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { hostProblem, isInternalPath, type Logger } from '@cdn-lab/service-kit';
import type { CacheStore } from './cache-store.ts';
import type { Coalescer } from './coalescer.ts';
import { decide, staleIfError, usesCache, type Decision, type RequestFacts } from './decision.ts';
import { EdgeError } from './errors.ts';
import { Filler, tooLargeError, type Outcome } from './fill.ts';
import { NO_DIRECTIVES, requestDirectives, type Directives } from './http/cache-control.ts';
import { originFormTarget, primaryKey } from './http/cache-key.ts';
import { cacheStatus, type ForwardReason } from './http/cache-status.ts';
import { currentAge } from './http/freshness.ts';
import { first } from './http/headers.ts';
import { parseSingleRange } from './http/range.ts';
import type { EdgeMetrics, Result } from './metrics.ts';
import { PassThrough } from './pass-through.ts';
import { RangeFill } from './range-fill.ts';
import { exchangeOf, Responder, type Exchange, type Streamed } from './respond.ts';
import { clientOf, Routing, type PeerRouting } from './route.ts';
import type { StoredResponse } from './stored-response.ts';
import type { Upstream } from './upstream.ts';

export { exchangeOf, type Exchange } from './respond.ts';
export { HOP_HEADER, type PeerRouting } from './route.ts';

/** Paths the edge answers itself (its local routes, in express), never proxied or looked up. */
export function isLocalPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path === '/healthz' || path === '/metrics' || path.startsWith('/_edge/');
}

/** Request fields that make the fast path step aside (they need the full request logic). */
const SLOW_REQUEST_FIELDS = ['cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'range', 'authorization'] as const;

/** What the decision reads of a fast-path request: GET or HEAD with no directives and no preconditions. */
const PLAIN_GET: RequestFacts = { method: 'GET', preconditions: false, directives: NO_DIRECTIVES };
const PLAIN_HEAD: RequestFacts = { method: 'HEAD', preconditions: false, directives: NO_DIRECTIVES };

export interface ProxyDeps {
  edgeId: string;
  store: CacheStore;
  metrics: EdgeMetrics;
  logger: Logger;
  now: () => number;
  coalescer: Coalescer;
  /** Origins (round robin) or the parent edge. */
  upstream: Upstream;
  peers?: PeerRouting | undefined;
  negativeTtlMs: number;
  /** STORE_SET_COOKIE: responses with Set-Cookie may be stored (and served with it to everyone). */
  storeSetCookie?: boolean;
  /** SERVE_STALE: false means stale is never served (no max-stale, SWR or SIE), only revalidated. */
  serveStale?: boolean;
  /** CLIENT_DELAY_MS: simulated client round trip, waited before each proxied response is written (not to peers). */
  clientDelayMs?: number;
  /** The server's keepAliveTimeout, announced in the Keep-Alive field of precomputed hit heads. */
  keepAliveTimeoutMs: number;
  /** ACCESS_LOG_HIT_SAMPLE: one fresh hit in this many gets an access log line (default 1: all). */
  accessLogHitSample?: number;
  /** MAX_OBJECT_BYTES: larger responses are passed on as they arrive and not stored. */
  maxObjectBytes: number;
  /** MAX_REQUEST_BODY_BYTES: larger request bodies get 413. */
  maxRequestBodyBytes: number;
  /** RANGE_SLICE_BYTES: Range misses fetch whole slices of this size and keep the 206; 0 fills the whole representation. */
  rangeSliceBytes?: number;
  /** FLEET_SECRET: sent in, and required of, hop headers between peers; unset, none is trusted. */
  fleetSecret?: string | undefined;
}

export class EdgeProxy {
  private readonly store: CacheStore;
  private readonly now: () => number;
  private readonly serveStale: boolean;
  private readonly clientDelayMs: number;
  private readonly routing: Routing;
  private readonly respond: Responder;
  private readonly fill: Filler;
  private readonly ranges: RangeFill;
  private readonly pass: PassThrough;

  constructor(deps: ProxyDeps) {
    this.store = deps.store;
    this.now = deps.now;
    this.serveStale = deps.serveStale ?? true;
    this.clientDelayMs = deps.clientDelayMs ?? 0;
    const { edgeId, store, metrics, logger, now, negativeTtlMs, storeSetCookie, maxObjectBytes } = deps;
    const routing = (this.routing = new Routing({ upstream: deps.upstream, peers: deps.peers, edgeId, fleetSecret: deps.fleetSecret }));
    const respond = (this.respond = new Responder({
      store,
      metrics,
      logger,
      now,
      clientDelayMs: this.clientDelayMs,
      keepAliveTimeoutMs: deps.keepAliveTimeoutMs,
      accessLogHitSample: deps.accessLogHitSample ?? 1,
      fromPeer: (headers) => routing.fromPeer(headers),
    }));
    const fill = (this.fill = new Filler({ edgeId, store, metrics, logger, now, coalescer: deps.coalescer, routing, negativeTtlMs, storeSetCookie, maxObjectBytes }));
    this.ranges = new RangeFill({
      edgeId,
      store,
      now,
      fill,
      respond,
      routing,
      negativeTtlMs,
      storeSetCookie,
      maxObjectBytes,
      rangeSliceBytes: deps.rangeSliceBytes ?? 0,
      miss: (ex, path, directives, fwd) => this.miss(ex, path, directives, fwd),
    });
    this.pass = new PassThrough({ edgeId, store, now, respond, routing, storeSetCookie, maxRequestBodyBytes: deps.maxRequestBodyBytes });
  }

  /**
   * Serves a fresh hit with no request directives to honour, straight from the precomputed entry,
   * and returns true. A request that needs the full logic is handed over: the returned Exchange
   * carries what the fast path learnt, for `handle` (or the local routes, which ignore it).
   */
  tryFastPath(req: IncomingMessage, res: ServerResponse): true | Exchange {
    // A hit allocates nothing for the hand-over: only requests that go on get an Exchange.
    const start = performance.now();
    const method = req.method;
    const url = req.url as string;
    if ((method !== 'GET' && method !== 'HEAD') || url.charCodeAt(0) !== 0x2f /* / */ || isLocalPath(url)) return exchangeOf(req, res, start);
    const headers = req.headers;
    if (headers.host === undefined || hostProblem(req) !== undefined) return exchangeOf(req, res, start);
    for (const name of SLOW_REQUEST_FIELDS) if (headers[name] !== undefined) return exchangeOf(req, res, start);
    const entry = this.store.lookup(url, headers);
    if (entry === undefined) return { req, res, start, looked: true, entry };
    const now = this.now();
    if (entry.partial !== undefined || decide(method === 'GET' ? PLAIN_GET : PLAIN_HEAD, entry, now, this.serveStale).kind !== 'fresh') {
      // The full logic may write this body later (stale, revalidated): held until the response closes.
      this.store.lease(entry.body, res);
      return { req, res, start, looked: true, entry };
    }
    const ageMs = currentAge(entry, now);
    // Without a client delay the hit pays nothing for the feature: no timer, and no closure here.
    if (this.clientDelayMs === 0 || this.routing.fromPeer(headers)) {
      this.respond.writeHit(req, res, entry, ageMs, start);
      // Usually the kernel took every byte at once; a body still queued for the socket is held until sent.
      if (res.writableLength > 0) this.store.lease(entry.body, res);
    } else {
      this.store.lease(entry.body, res);
      this.respond.writeHitLater(req, res, entry, ageMs, start);
    }
    return true;
  }

  /** Records one answered client request: one metric sample and one log line. */
  finish(ex: Exchange, result: Result, status: number, bytes: number): void {
    this.respond.finish(ex, result, status, bytes);
  }

  /** Answers with an error of the catalogue (JSON body), counting it under `result`. */
  sendError(ex: Exchange, error: EdgeError, cs: string, result: Result): void {
    this.respond.sendError(ex, error, cs, result);
  }

  /** The full request logic. Throws EdgeError for bad requests. */
  async handle(ex: Exchange): Promise<void> {
    const { req, res } = ex;
    const headers = req.headers;
    if (req.httpVersionMajor === 1 && req.httpVersionMinor >= 1 && headers.host === undefined) {
      throw new EdgeError('missingHost', 'HTTP/1.1 request without Host');
    }
    const badHost = hostProblem(req);
    if (badHost !== undefined) throw new EdgeError('badHost', badHost);
    // Node's parser rejects most smuggling shapes; this one is checked again so it can never reach upstream.
    if (headers['transfer-encoding'] !== undefined && headers['content-length'] !== undefined) {
      throw new EdgeError('smuggling', 'both Transfer-Encoding and Content-Length');
    }
    const path = originFormTarget(req.url as string, headers.host);
    // The origin's admin, metrics and health, and any peer's or parent's own routes, in any spelling
    // (a stored entry never has such a path, so the fast path needs no such check).
    if (isInternalPath(path)) throw new EdgeError('internalPath', 'this path is reserved for the services\' own use and is not forwarded');
    const method = req.method as string;
    if (method === 'CONNECT' || method === 'TRACE') throw new EdgeError('methodNotAllowed', `${method} is not supported`);
    const request: RequestFacts = {
      method,
      preconditions: headers['if-match'] !== undefined || headers['if-unmodified-since'] !== undefined,
      directives: NO_DIRECTIVES,
    };
    const primary = primaryKey(path);
    let entry: StoredResponse | undefined;
    if (usesCache(request)) {
      request.directives = requestDirectives(first(headers['cache-control']), first(headers.pragma));
      entry = ex.entry;
      if (!ex.looked || req.url !== path) {
        entry = this.store.lookup(primary, headers);
        if (entry) this.store.lease(entry.body, res);
      }
    }
    const now = this.now();
    const decision = decide(request, entry, now, this.serveStale);
    const directives = request.directives;
    if (decision.kind === 'pass') return this.pass.passThrough(ex, path, decision.fwd, decision.detail);
    if (entry?.partial !== undefined) return this.ranges.fromPartial(ex, path, entry, entry.partial, directives, decision, now);
    if (entry) return this.fromStored(ex, path, entry, directives, decision, now);
    if (decision.kind === 'unavailable') return this.respond.onlyIfCachedMiss(ex);
    const fwd: ForwardReason = this.store.hasUrl(primary) ? 'vary-miss' : 'uri-miss';
    const range = this.ranges.enabled && method === 'GET' ? parseSingleRange(first(headers.range)) : undefined;
    if (range !== undefined) return this.ranges.rangeFetch(ex, path, directives, { spec: range, whole: false, held: undefined, found: undefined, fwd, retried: false });
    return this.miss(ex, path, directives, fwd);
  }

  private async fromStored(ex: Exchange, path: string, entry: StoredResponse, directives: Directives, decision: Decision, now: number): Promise<void> {
    const { req } = ex;
    const ageMs = currentAge(entry, now);
    const ttl = Math.floor((entry.lifetimeMs - ageMs) / 1000);
    if (decision.kind === 'fresh') return this.respond.serveStored(ex, entry, ageMs, cacheStatus({ hit: true, ttl }), 'hit');
    if (decision.kind === 'serve-stale') {
      if (decision.detail === 'stale-while-revalidate') this.fill.revalidateInBackground(req, path, entry);
      return this.respond.serveStored(ex, entry, ageMs, cacheStatus({ hit: true, ttl, detail: decision.detail }), 'stale');
    }
    if (decision.kind !== 'revalidate') return this.respond.onlyIfCachedMiss(ex);
    const fwd: ForwardReason = decision.fwd;
    const route = this.routing.routeFor(entry.primaryKey, req);
    let streamed = false;
    const streamTo = (response: Streamed) => {
      streamed = true;
      this.respond.serveStreamed(ex, response, fwd);
    };
    const { outcome, collapsed } = await this.fill.fetchShared(req, entry.key, () =>
      this.store.holding(entry.body, () => this.fill.fetchForCache(clientOf(req), path, entry.primaryKey, directives, entry, route, streamTo)),
    );
    if (streamed) return;
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(ex, tooLargeError(route), fwd, collapsed);
    const failed = outcome.kind === 'error' || outcome.response.status >= 500;
    if (failed) {
      // Judged at the time of the decision, as the stale entry was then.
      if (staleIfError(entry, directives, now, this.serveStale)) {
        const fwdStatus = outcome.kind === 'response' ? outcome.response.status : undefined;
        const cs = cacheStatus({ fwd, ...(fwdStatus !== undefined ? { fwdStatus } : {}), ttl, collapsed, detail: 'stale-if-error' });
        return this.respond.serveStored(ex, entry, ageMs, cs, 'stale');
      }
      if (outcome.kind === 'error') return this.respond.upstreamFailed(ex, outcome.error, fwd, collapsed);
    }
    return this.respond.serveOutcome(ex, outcome as Extract<Outcome, { kind: 'response' }>, fwd, collapsed);
  }

  private async miss(ex: Exchange, path: string, directives: Directives, fwd: ForwardReason): Promise<void> {
    const { req } = ex;
    const primary = primaryKey(path);
    const route = this.routing.routeFor(primary, req);
    let streamed = false;
    const streamTo = (response: Streamed) => {
      streamed = true;
      this.respond.serveStreamed(ex, response, fwd);
    };
    const fetch = () => this.fill.fetchForCache(clientOf(req), path, primary, directives, undefined, route, streamTo);
    // A no-store request's response is not stored, so nobody else could use it: no coalescing.
    const { outcome, collapsed } = directives.has('no-store') ? { outcome: await fetch(), collapsed: false } : await this.fill.fetchShared(req, primary, fetch);
    if (streamed) return;
    if (outcome.kind === 'error') return this.respond.upstreamFailed(ex, outcome.error, fwd, collapsed);
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(ex, tooLargeError(route), fwd, collapsed);
    return this.respond.serveOutcome(ex, outcome, fwd, collapsed);
  }
}
