// The caching proxy's request logic (RFC 9111). `tryFastPath` answers fresh hits straight from the
// node:http handler; `handle` (called by the same node:http handler) does everything else: validation of the target,
// request directives, stale handling, revalidation, misses through the coalescer, pass-through of
// uncacheable methods, and unsafe-method invalidation.
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Transform, type Readable } from 'node:stream';
import { hostProblem, isInternalPath, secretCheck, type Logger } from '@cdn-lab/service-kit';
import type { CacheStore } from './cache-store.ts';
import type { Coalescer } from './coalescer.ts';
import { EdgeError } from './errors.ts';
import { decide, staleIfError, usesCache, type Decision, type RequestFacts } from './decision.ts';
import { NO_DIRECTIVES, requestDirectives, type Directives } from './http/cache-control.ts';
import { originFormTarget, primaryKey, variantKey } from './http/cache-key.ts';
import { appendCacheStatus, cacheStatus, type ForwardReason } from './http/cache-status.ts';
import { notModified } from './http/conditional.ts';
import { ageSeconds, currentAge } from './http/freshness.ts';
import { appendVia, connectionTokens, first, HOP_BY_HOP } from './http/headers.ts';
import { decideRange, formatRange, parseContentRange, parseSingleRange, resolveRange, type ByteRangeSpec, type RangeDecision } from './http/range.ts';
import type { EdgeMetrics, Result } from './metrics.ts';
import { fetchedStatus, handOver, Responder, stateOf, type Fetched, type Streamed } from './respond.ts';
import { addPart, alignToSlices, heldBytes, isComplete, missingCover } from './partial-content.ts';
import {
  buildStoredResponse,
  refreshStoredResponse,
  selectedBy304,
  storedFields,
  updatedSourceHeaders,
  validatorsOf,
  type PartialContent,
  type StoredResponse,
} from './stored-response.ts';
import { BodyRelay } from './relay.ts';
import { UpstreamError, type Upstream, type UpstreamHead } from './upstream.ts';

/**
 * Set on requests an edge forwards to the owning peer, so the owner never forwards them again (and
 * adds no simulated client delay). Its value is the fleet's FLEET_SECRET: a hop header without it
 * is ignored, so a client cannot make a non-owner keep its own copy by sending one.
 */
export const HOP_HEADER = 'x-cdn-lab-hop';

/** Paths the edge answers itself (express routes), never proxied or looked up. */
export function isLocalPath(url: string): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path === '/healthz' || path === '/metrics' || path.startsWith('/_edge/');
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE']);
/** Request fields the edge handles itself on a cache fill (it fetches the full, unconditional response). */
const FILL_DROPS = new Set(['if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'if-range', 'range', 'content-length', 'expect']);
/**
 * Not copied from the client: rewritten by the edge (host, via, x-forwarded-for, the hop marker),
 * or unkeyed inputs an origin might reflect into a response that is then cached for everyone under
 * a key that does not contain them (cache poisoning): the edge never forwards them.
 */
const ALWAYS_DROPS = new Set([
  'host',
  'via',
  'x-forwarded-for',
  HOP_HEADER,
  'forwarded',
  'x-forwarded-host',
  'x-forwarded-server',
  'x-forwarded-scheme',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-forwarded-prefix',
  'x-host',
  'x-original-url',
  'x-rewrite-url',
  'x-original-host',
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
]);
/** Request fields that make the fast path step aside (they need the full request logic). */
const SLOW_REQUEST_FIELDS = ['cache-control', 'pragma', 'if-none-match', 'if-modified-since', 'if-match', 'if-unmodified-since', 'range', 'authorization'] as const;
/**
 * Reasons a successful response is not stored that hold for everyone who asks (the response itself
 * says so): such a response supersedes a stale entry. Others (`private`, `set-cookie`, a request's
 * `no-store`) may come from the one client's request, which must not remove what others are served.
 */
const EVERYONES_REASONS = new Set(['no-store', 'vary-star', 'no-freshness', 'status', 'must-understand']);

/** Where a miss goes: the origins/parent (and store), or the owning peer (and do not store here). */
interface Route {
  upstream: Upstream;
  url?: string | undefined;
  store: boolean;
  peer: boolean;
}

/** `passed`: the response was streamed to the client that asked and not kept; nobody else may take it. */
type Outcome =
  | ({ kind: 'response' } & Fetched)
  | { kind: 'error'; error: UpstreamError }
  | { kind: 'passed' };

/** The body of a response described before its body arrived. */
const NO_BODY = Buffer.alloc(0);

const FULL: RangeDecision = { kind: 'full' };

/** What the decision reads of a fast-path request: GET or HEAD with no directives and no preconditions. */
const PLAIN_GET: RequestFacts = { method: 'GET', preconditions: false, directives: NO_DIRECTIVES };
const PLAIN_HEAD: RequestFacts = { method: 'HEAD', preconditions: false, directives: NO_DIRECTIVES };

/** A Range request the cache sends upstream (rangeFetch). */
interface RangePlan {
  /** The client's range: in bytes when the length is known, else as it asked. */
  spec: ByteRangeSpec;
  /** The client wants the whole representation: the fetch completes `held`. */
  whole: boolean;
  /** A fresh partial entry with a strong ETag, to combine the answer with (§3.4). */
  held: StoredResponse | undefined;
  /** The entry the request found (maybe stale, maybe not combinable): the answer replaces or drops it. */
  found: StoredResponse | undefined;
  fwd: ForwardReason;
  /** This is the second request for one client request (the first found another representation). */
  retried: boolean;
}

/**
 * Whether a partial entry may be combined with a later part (RFC 9111 §3.4): only by a strong ETag
 * (a Last-Modified date is not trusted as a strong validator here, and weak tags never combine).
 */
function combinable(entry: StoredResponse): boolean {
  return entry.partial !== undefined && entry.etag !== undefined && !entry.etag.startsWith('W/');
}

export interface PeerRouting {
  upstream: Upstream;
  /** The ring node name that owns a key (peer id). */
  ownerOf(key: string): string | undefined;
  selfId: string;
  urlOf: ReadonlyMap<string, string>;
}

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

/** What an upstream fetch needs from the client request (kept past the response, for background work). */
interface ClientInfo {
  headers: IncomingHttpHeaders;
  remoteAddress: string | undefined;
}

function clientOf(req: IncomingMessage): ClientInfo {
  return { headers: req.headers, remoteAddress: req.socket?.remoteAddress };
}

export class EdgeProxy {
  private readonly deps: ProxyDeps;
  private readonly store: CacheStore;
  private readonly metrics: EdgeMetrics;
  private readonly logger: Logger;
  private readonly respond: Responder;
  private readonly now: () => number;
  private readonly serveStale: boolean;
  private readonly clientDelayMs: number;
  /** Keys with a stale-while-revalidate refresh in flight. */
  private readonly revalidating = new Set<string>();
  private readonly maxObjectBytes: number;
  private readonly rangeSliceBytes: number;
  /** Whether a hop header value is the fleet's secret (always false without one). */
  private readonly isFleetSecret: (value: string | undefined) => boolean;

  constructor(deps: ProxyDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.metrics = deps.metrics;
    this.logger = deps.logger;
    this.now = deps.now;
    this.serveStale = deps.serveStale ?? true;
    this.clientDelayMs = deps.clientDelayMs ?? 0;
    this.maxObjectBytes = deps.maxObjectBytes;
    this.rangeSliceBytes = deps.rangeSliceBytes ?? 0;
    this.isFleetSecret = deps.fleetSecret === undefined ? () => false : secretCheck(deps.fleetSecret);
    this.respond = new Responder({
      store: deps.store,
      metrics: deps.metrics,
      logger: deps.logger,
      now: deps.now,
      clientDelayMs: this.clientDelayMs,
      keepAliveTimeoutMs: deps.keepAliveTimeoutMs,
      accessLogHitSample: deps.accessLogHitSample ?? 1,
      fromPeer: (headers) => this.fromPeer(headers),
      hopHeader: HOP_HEADER,
    });
  }

  /** A request a peer edge forwarded (its hop header carries the fleet secret), not a client's. */
  private fromPeer(headers: IncomingHttpHeaders): boolean {
    const hop = headers[HOP_HEADER];
    return hop !== undefined && this.isFleetSecret(first(hop));
  }

  /**
   * Serves a fresh hit with no request directives to honour, straight from the precomputed entry.
   * Returns false (having stashed its lookup) when the request needs the full logic.
   */
  tryFastPath(req: IncomingMessage, res: ServerResponse): boolean {
    // Per-request state is attached only when the request goes on to express: a hit adds no property to req.
    const start = performance.now();
    const method = req.method;
    const url = req.url as string;
    if ((method !== 'GET' && method !== 'HEAD') || url.charCodeAt(0) !== 0x2f /* / */ || isLocalPath(url)) return handOver(req, start, false, undefined);
    const headers = req.headers;
    if (headers.host === undefined || hostProblem(req) !== undefined) return handOver(req, start, false, undefined);
    for (const name of SLOW_REQUEST_FIELDS) if (headers[name] !== undefined) return handOver(req, start, false, undefined);
    const entry = this.store.lookup(url, headers);
    if (entry === undefined) return handOver(req, start, true, entry);
    const now = this.now();
    if (entry.partial !== undefined || decide(method === 'GET' ? PLAIN_GET : PLAIN_HEAD, entry, now, this.serveStale).kind !== 'fresh') {
      // The full logic may write this body later (stale, revalidated): held until the response closes.
      this.store.bodies.lease(entry.body, res);
      return handOver(req, start, true, entry);
    }
    const ageMs = currentAge(entry, now);
    // Without a client delay the hit pays nothing for the feature: no timer, and no closure here.
    if (this.clientDelayMs === 0 || this.fromPeer(headers)) {
      this.respond.writeHit(req, res, entry, ageMs, start);
      // Usually the kernel took every byte at once; a body still queued for the socket is held until sent.
      if (res.writableLength > 0) this.store.bodies.lease(entry.body, res);
    } else {
      this.store.bodies.lease(entry.body, res);
      this.respond.writeHitLater(req, res, entry, ageMs, start);
    }
    return true;
  }

  /** Records one answered client request: one metric sample and one log line. */
  finish(req: IncomingMessage, result: Result, status: number, bytes: number): void {
    this.respond.finish(req, result, status, bytes);
  }

  /** Answers with an error of the catalogue (JSON body), counting it under `result`. */
  sendError(req: IncomingMessage, res: ServerResponse, error: EdgeError, cs: string, result: Result): void {
    this.respond.sendError(req, res, error, cs, result);
  }

  /** The full request logic. Throws EdgeError for bad requests. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      const state = stateOf(req);
      entry = state.entry;
      if (!state.looked || req.url !== path) {
        entry = this.store.lookup(primary, headers);
        if (entry) this.store.bodies.lease(entry.body, res);
      }
    }
    const now = this.now();
    const decision = decide(request, entry, now, this.serveStale);
    const directives = request.directives;
    if (decision.kind === 'pass') return this.passThrough(req, res, path, decision.fwd, decision.detail);
    if (entry?.partial !== undefined) return this.fromPartial(req, res, path, entry, entry.partial, directives, decision, now);
    if (entry) return this.fromStored(req, res, path, entry, directives, decision, now);
    if (decision.kind === 'unavailable') return this.respond.onlyIfCachedMiss(req, res);
    const fwd: ForwardReason = this.store.hasUrl(primary) ? 'vary-miss' : 'uri-miss';
    const range = this.rangeSliceBytes > 0 && method === 'GET' ? parseSingleRange(first(headers.range)) : undefined;
    if (range !== undefined) return this.rangeFetch(req, res, path, directives, { spec: range, whole: false, held: undefined, found: undefined, fwd, retried: false });
    return this.miss(req, res, path, directives, fwd);
  }

  /**
   * A request that found a partial entry (RFC 9111 §3.3). While it is fresh it answers HEAD, a
   * conditional that matches it, a range it holds and a range past its complete length (416). A
   * range it does not hold is fetched for the missing bytes with If-Range and combined (§3.4); a
   * request for the whole representation completes the entry the same way when it can be kept
   * whole. A stale partial entry is not served (no revalidation, max-stale, stale-while-revalidate
   * or stale-if-error for partial entries): the range is fetched again, with If-Range when the
   * entry could be combined with the answer.
   */
  private async fromPartial(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    entry: StoredResponse,
    partial: PartialContent,
    directives: Directives,
    decision: Decision,
    now: number,
  ): Promise<void> {
    const ageMs = currentAge(entry, now);
    const usable = decision.kind === 'fresh';
    const h = req.headers;
    const length = partial.completeLength;
    const hit = cacheStatus({ hit: true, ttl: Math.floor((entry.lifetimeMs - ageMs) / 1000) });
    if (usable) {
      if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) {
        if (notModified({ ifNoneMatch: first(h['if-none-match']), ifModifiedSince: first(h['if-modified-since']) }, validatorsOf(entry))) {
          return this.respond.writeNotModified(req, res, entry, ageMs, hit, 'hit');
        }
      }
      if (req.method === 'HEAD') {
        const headers = storedFields(entry).concat('content-length', String(length), 'age', String(ageSeconds(ageMs)), 'cache-status', hit);
        return this.respond.write(req, res, 200, headers, undefined, 'hit');
      }
    }
    const range = req.method === 'HEAD' ? FULL : decideRange(first(h.range), length, { value: first(h['if-range']), etag: entry.etag, lastModified: entry.lastModified });
    if (usable && range.kind === 'partial') {
      const bytes = heldBytes(partial, entry.body, range.start, range.end);
      if (bytes !== undefined) return this.respond.writePartial(req, res, entry, range.start, range.end, length, bytes, ageMs, hit, 'hit');
    }
    if (usable && range.kind === 'unsatisfiable') return this.respond.writeUnsatisfiable(req, res, length, hit, 'hit');
    if (directives.has('only-if-cached')) return this.respond.onlyIfCachedMiss(req, res);
    const fwd: ForwardReason = decision.kind === 'revalidate' ? decision.fwd : 'partial';
    const held = usable && combinable(entry) ? entry : undefined;
    if (range.kind === 'partial') {
      // Fresh: the range is known in bytes. Stale: the client's own range, the length may have changed.
      const spec = usable ? { first: range.start, last: range.end } : (parseSingleRange(first(h.range)) as ByteRangeSpec);
      return this.rangeFetch(req, res, path, directives, { spec, whole: false, held, found: entry, fwd, retried: false });
    }
    if (range.kind === 'unsatisfiable') {
      return this.rangeFetch(req, res, path, directives, { spec: parseSingleRange(first(h.range)) as ByteRangeSpec, whole: false, held: undefined, found: entry, fwd, retried: false });
    }
    // The whole representation (no Range, several ranges, an If-Range that does not match, HEAD).
    if (held !== undefined && length <= this.maxObjectBytes && req.method === 'GET') {
      return this.rangeFetch(req, res, path, directives, { spec: { first: 0, last: length - 1 }, whole: true, held, found: entry, fwd, retried: false });
    }
    return this.miss(req, res, path, directives, fwd);
  }

  /**
   * Sends a Range request upstream for the cache (RFC 9111 §3.3, §3.4) and answers the client's
   * range from what comes back. What is asked: the bytes of the client's range the held entry lacks
   * (all of them without one), widened to whole slices of RANGE_SLICE_BYTES, with `If-Range: <the
   * held entry's strong ETag>` so that a changed representation comes back whole (200) instead of
   * as a part that does not fit. When that would hold more than MAX_OBJECT_BYTES, the client's own
   * range is asked and its answer is passed on without being kept. A 206 of a single range with a
   * complete length is kept: combined with the held entry when their strong ETags and lengths
   * match, else replacing it; it becomes a complete 200 entry once every byte is held. A 200 is
   * handled as any fill (the range is answered from it). A 416 is passed on and drops the entry
   * (the representation is shorter than what it held). Not coalesced.
   */
  private async rangeFetch(req: IncomingMessage, res: ServerResponse, path: string, directives: Directives, plan: RangePlan): Promise<void> {
    const { spec, held } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const route = this.routeFor(primary, req);
    const knownLength = held?.partial?.completeLength;
    let range = formatRange(spec);
    let ifRange = held === undefined ? first(req.headers['if-range']) : held.etag;
    let keep = false;
    if (spec.first !== undefined && spec.last !== undefined) {
      const cover = missingCover(held?.partial, spec.first, spec.last) ?? { start: spec.first, end: spec.last };
      const slices = alignToSlices(cover.start, cover.end, this.rangeSliceBytes, knownLength);
      if (slices.end - slices.start + 1 + (held?.body.length ?? 0) <= this.maxObjectBytes) {
        range = `bytes=${slices.start}-${slices.end}`;
        keep = true;
      } else if (held !== undefined) {
        // Too much to keep together: the client's range alone, passed on.
        ifRange = undefined;
      }
    }
    const headers = this.forwardHeaders(client, true, route.peer);
    headers.range = range;
    if (ifRange !== undefined) headers['if-range'] = ifRange;
    // The held bytes are copied into the combined entry when the part arrives: held until then.
    const combineWith = keep ? held : undefined;
    const exchange = () => this.exchangeRange(req, res, path, directives, plan, route, headers, keep, range === formatRange(spec), combineWith);
    return combineWith === undefined ? exchange() : this.holdingBody(combineWith, exchange);
  }

  /** rangeFetch's exchange: `exact` when the range asked is the client's own. */
  private async exchangeRange(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    directives: Directives,
    plan: RangePlan,
    route: Route,
    headers: OutgoingHttpHeaders,
    keep: boolean,
    exact: boolean,
    combineWith: StoredResponse | undefined,
  ): Promise<void> {
    const { held, found, fwd } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const opened = await this.openForCache(route, path, headers);
    if (opened.error !== undefined) return this.respond.upstreamFailed(req, res, opened.error, fwd, false);
    const head = opened.head;
    // Kept: the slices asked for; or the client's own range when nothing was held (a part too large to combine is not).
    if (head.status === 206) return this.receivedPart(req, res, path, directives, plan, head, opened.store && (keep || held === undefined), exact, combineWith);
    if (head.status === 416) {
      // The representation is shorter than the range: whatever was held of it is another one.
      if (found !== undefined) this.store.policy.delete(found.key);
      const body = await this.wholeOrError(head);
      if (body instanceof UpstreamError) return this.respond.upstreamFailed(req, res, body, fwd, false);
      const response = this.fromHead(head, primary, client, directives, body, false, head.body.responseTime);
      const cs = appendCacheStatus(first(head.headers['cache-status']), cacheStatus({ fwd }));
      return this.respond.write(req, res, 416, response.hitHeaders.concat('cache-status', cs), body, 'miss');
    }
    // A 200 (the upstream ignored Range, or If-Range found another representation) or any other
    // status: as for a request without Range. The client's range is answered from a complete 200.
    let streamed = false;
    const outcome = await this.received(head, opened.store, client, path, primary, directives, found, route, (response) => {
      streamed = true;
      this.respond.serveStreamed(req, res, response, fwd);
    });
    if (streamed) return;
    if (outcome.kind === 'error') return this.respond.upstreamFailed(req, res, outcome.error, fwd, false);
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(req, res, tooLargeError(route), fwd, false);
    return this.respond.serveOutcome(req, res, outcome, fwd, false);
  }

  /**
   * A 206 to rangeFetch's request. Kept when `store` (and storable, within MAX_OBJECT_BYTES); sent
   * on as it arrives when it is the client's own range and too large to read first (`exact`).
   */
  private async receivedPart(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    directives: Directives,
    plan: RangePlan,
    head: UpstreamHead,
    store: boolean,
    exact: boolean,
    held: StoredResponse | undefined,
  ): Promise<void> {
    const { fwd, found } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const upstreamCacheStatus = first(head.headers['cache-status']);
    let body = head.body.takeComplete();
    if (body === undefined) {
      const declared = Number(first(head.headers['content-length']) ?? Number.NaN);
      if (exact && !(declared <= this.maxObjectBytes)) {
        // The client's own range, too large to keep: passed on as it arrives.
        const response = this.described(head, primary, client, directives);
        return this.respond.serveStreamed(req, res, { response, relay: new BodyRelay(head.body, 0), stored: false, tooLarge: declared > this.maxObjectBytes, upstreamCacheStatus }, fwd);
      }
      const whole = await this.wholeOrError(head);
      if (whole instanceof UpstreamError) return this.respond.upstreamFailed(req, res, whole, fwd, false);
      body = whole;
    }
    const part = parseContentRange(first(head.headers['content-range']));
    const understood = part !== undefined && part.completeLength !== undefined && body.length === part.end - part.start + 1;
    let response: StoredResponse;
    let combined = false;
    if (understood) {
      const length = part.completeLength as number;
      combined = held !== undefined && held.partial?.completeLength === length && first(head.headers.etag) === held.etag;
      const base = combined ? (held as StoredResponse) : undefined;
      const merged = addPart(base?.partial, base?.body ?? NO_BODY, part.start, body, length);
      const headers = base === undefined ? head.headers : updatedSourceHeaders(base, head.headers);
      response = this.partResponse(head, primary, client, directives, headers, merged.body, isComplete(merged.partial) ? undefined : merged.partial);
    } else {
      // Several parts, no complete length, or a body that is not the range it names: passed on as it is.
      response = this.fromHead(head, primary, client, directives, body, false, head.body.responseTime);
    }
    const stored = store && response.storability.storable && response.body.length <= this.maxObjectBytes && this.store.put(response);
    // Another representation (or one nobody may keep any more) replaces what was held; a part of the
    // same one that was not kept (too large to hold with it) leaves it as it is.
    const etag = first(head.headers.etag);
    const sameRepresentation = found?.etag !== undefined && !found.etag.startsWith('W/') && found.etag === etag;
    if (found !== undefined && !stored && !combined && !sameRepresentation && supersedes(response, directives)) this.store.policy.delete(found.key);
    const { cs, result } = fetchedStatus(response, upstreamCacheStatus, { fwd, stored, detail: response.body.length > this.maxObjectBytes ? 'too-large' : undefined });
    const ageMs = currentAge(response, this.now());
    // Complete now (or a 206 that was the whole representation): answered as any stored 200.
    if (response.partial === undefined && response.status === 200) return this.respond.serveStored(req, res, response, ageMs, cs, result);
    if (plan.whole) {
      // The part did not complete the representation (another one, or fewer bytes than asked): fetch it whole.
      return this.miss(req, res, path, directives, fwd);
    }
    if (response.partial === undefined) return this.respond.write(req, res, response.status, response.hitHeaders.concat('age', String(ageSeconds(ageMs)), 'cache-status', cs), response.body, result);
    const decision = resolveRange(plan.spec, response.partial.completeLength);
    if (decision.kind === 'unsatisfiable') return this.respond.writeUnsatisfiable(req, res, response.partial.completeLength, cs, result);
    const bytes = heldBytes(response.partial, response.body, decision.start, decision.end);
    if (bytes !== undefined) return this.respond.writePartial(req, res, response, decision.start, decision.end, response.partial.completeLength, bytes, ageMs, cs, result);
    if (!plan.retried) {
      // Only the missing bytes were asked, and they belong to another representation than the held
      // ones: ask once more for the client's range, completing the part just kept if it was.
      const next = stored && combinable(response) ? response : undefined;
      return this.rangeFetch(req, res, path, directives, { ...plan, held: next, found: stored ? response : undefined, retried: true });
    }
    return this.respond.upstreamFailed(req, res, new UpstreamError('failed', head.kind, `${head.kind} did not send the range asked for`), fwd, false);
  }

  /** A GET's stored response from a 206 (`partial` set) or from the 206 that completed it (status 200, no Content-Range). */
  private partResponse(head: UpstreamHead, primary: string, client: ClientInfo, directives: Directives, headers: IncomingHttpHeaders, body: Buffer, partial: PartialContent | undefined): StoredResponse {
    let fields = headers;
    if (partial === undefined && fields['content-range'] !== undefined) {
      fields = { ...fields };
      delete fields['content-range'];
    }
    return buildStoredResponse({
      primaryKey: primary,
      requestHeaders: client.headers,
      requestDirectives: directives,
      method: 'GET',
      status: partial === undefined ? 200 : 206,
      headers: fields,
      body,
      requestTime: head.requestTime,
      responseTime: head.body.responseTime,
      via: this.deps.edgeId,
      negativeTtlMs: this.deps.negativeTtlMs,
      storeSetCookie: this.deps.storeSetCookie,
      partial,
    });
  }

  /** The body of an upstream response read whole (up to MAX_OBJECT_BYTES), or why it could not be. */
  private async wholeOrError(head: UpstreamHead): Promise<Buffer | UpstreamError> {
    const complete = head.body.takeComplete();
    if (complete !== undefined) return complete;
    try {
      return (await head.body.whole(this.maxObjectBytes)) ?? new UpstreamError('failed', head.kind, `${head.kind} sent more than ${this.maxObjectBytes} bytes for a range`);
    } catch (error) {
      if (error instanceof UpstreamError) return error;
      throw error;
    }
  }

  private async fromStored(req: IncomingMessage, res: ServerResponse, path: string, entry: StoredResponse, directives: Directives, decision: Decision, now: number): Promise<void> {
    const ageMs = currentAge(entry, now);
    const ttl = Math.floor((entry.lifetimeMs - ageMs) / 1000);
    if (decision.kind === 'fresh') return this.respond.serveStored(req, res, entry, ageMs, cacheStatus({ hit: true, ttl }), 'hit');
    if (decision.kind === 'serve-stale') {
      if (decision.detail === 'stale-while-revalidate') this.revalidateInBackground(req, path, entry);
      return this.respond.serveStored(req, res, entry, ageMs, cacheStatus({ hit: true, ttl, detail: decision.detail }), 'stale');
    }
    if (decision.kind !== 'revalidate') return this.respond.onlyIfCachedMiss(req, res);
    const fwd: ForwardReason = decision.fwd;
    const route = this.routeFor(entry.primaryKey, req);
    let streamed = false;
    const streamTo = (response: Streamed) => {
      streamed = true;
      this.respond.serveStreamed(req, res, response, fwd);
    };
    const { outcome, collapsed } = await this.fetchShared(req, entry.key, () =>
      this.holdingBody(entry, () => this.fetchForCache(clientOf(req), path, entry.primaryKey, directives, entry, route, streamTo)),
    );
    if (streamed) return;
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(req, res, tooLargeError(route), fwd, collapsed);
    const failed = outcome.kind === 'error' || outcome.response.status >= 500;
    if (failed) {
      // Judged at the time of the decision, as the stale entry was then.
      if (staleIfError(entry, directives, now, this.serveStale)) {
        const fwdStatus = outcome.kind === 'response' ? outcome.response.status : undefined;
        const cs = cacheStatus({ fwd, ...(fwdStatus !== undefined ? { fwdStatus } : {}), ttl, collapsed, detail: 'stale-if-error' });
        return this.respond.serveStored(req, res, entry, ageMs, cs, 'stale');
      }
      if (outcome.kind === 'error') return this.respond.upstreamFailed(req, res, outcome.error, fwd, collapsed);
    }
    return this.respond.serveOutcome(req, res, outcome as Extract<Outcome, { kind: 'response' }>, fwd, collapsed);
  }

  private async miss(req: IncomingMessage, res: ServerResponse, path: string, directives: Directives, fwd: ForwardReason): Promise<void> {
    const primary = primaryKey(path);
    const route = this.routeFor(primary, req);
    let streamed = false;
    const streamTo = (response: Streamed) => {
      streamed = true;
      this.respond.serveStreamed(req, res, response, fwd);
    };
    const fetch = () => this.fetchForCache(clientOf(req), path, primary, directives, undefined, route, streamTo);
    // A no-store request's response is not stored, so nobody else could use it: no coalescing.
    const { outcome, collapsed } = directives.has('no-store') ? { outcome: await fetch(), collapsed: false } : await this.fetchShared(req, primary, fetch);
    if (streamed) return;
    if (outcome.kind === 'error') return this.respond.upstreamFailed(req, res, outcome.error, fwd, collapsed);
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(req, res, tooLargeError(route), fwd, collapsed);
    return this.respond.serveOutcome(req, res, outcome, fwd, collapsed);
  }

  /**
   * Runs `fetch` through the coalescer. A follower takes the leader's outcome only if it could have
   * been served to it from the cache (outcomeFor); otherwise the leader's own request may have caused
   * it (an error for its headers, a response for its cookies), so the follower asks again: once more
   * through the coalescer (the first such follower leads, the others wait for it), then on its own.
   */
  private async fetchShared(req: IncomingMessage, key: string, fetch: () => Promise<Outcome>): Promise<{ outcome: Outcome; collapsed: boolean }> {
    for (let round = 0; round < 2; round++) {
      const joined = this.deps.coalescer.run(key, fetch);
      const outcome = await joined.promise;
      if (joined.leader) return { outcome, collapsed: false };
      if (servesFollower(outcome, req)) {
        this.metrics.coalesced.inc();
        return { outcome, collapsed: true };
      }
    }
    return { outcome: await fetch(), collapsed: false };
  }

  private revalidateInBackground(req: IncomingMessage, path: string, entry: StoredResponse): void {
    // One background revalidation per key, however many stale hits arrive meanwhile.
    if (this.revalidating.has(entry.key)) return;
    this.revalidating.add(entry.key);
    const route = this.routeFor(entry.primaryKey, req);
    const client = clientOf(req);
    const joined = this.deps.coalescer.run(entry.key, () => this.holdingBody(entry, () => this.fetchForCache(client, path, entry.primaryKey, new Map(), entry, route)));
    joined.promise
      .then(
        (outcome) => {
          // A down upstream was logged once when it went down; not again for every stale hit meanwhile.
          if (outcome.kind === 'error' && outcome.error.reason !== 'down') this.logger.warn({ path, err: outcome.error.message }, 'background revalidation failed');
        },
        (error: unknown) => this.logger.error({ path, err: String(error) }, 'background revalidation crashed'),
      )
      .finally(() => this.revalidating.delete(entry.key));
  }

  /**
   * Runs `work` with `entry`'s body held: a 304 carries the body into the refreshed entry, maybe
   * after the entry was evicted and after the request that started this (a background
   * revalidation) closed.
   */
  private async holdingBody<T>(entry: StoredResponse, work: () => Promise<T>): Promise<T> {
    this.store.bodies.hold(entry.body);
    try {
      return await work();
    } finally {
      this.store.bodies.drop(entry.body);
    }
  }

  /**
   * One upstream exchange for the cache: conditional when `entry` is given; stores what may be stored.
   * A body that came with its head (most) is handled whole. Any other is streamed to `streamTo`'s
   * client as it arrives (when given, and unless a 5xx may yet be replaced by the stale entry) while
   * it is kept for the cache up to MAX_OBJECT_BYTES; without a client it is read whole up to that
   * limit. The promise settles when the outcome is final for followers: at the head for a response
   * nobody else may take, else when the kept body is complete.
   */
  private async fetchForCache(
    client: ClientInfo,
    path: string,
    primary: string,
    directives: Directives,
    entry: StoredResponse | undefined,
    route: Route,
    streamTo?: (streamed: Streamed) => void,
  ): Promise<Outcome> {
    const headers = this.forwardHeaders(client, true, route.peer);
    if (entry?.etag !== undefined) headers['if-none-match'] = entry.etag;
    if (entry?.lastModified !== undefined) headers['if-modified-since'] = entry.lastModified;
    const opened = await this.openForCache(route, path, headers);
    if (opened.error !== undefined) return { kind: 'error', error: opened.error };
    return this.received(opened.head, opened.store, client, path, primary, directives, entry, route, streamTo);
  }

  /**
   * Sends a GET for the cache to the route's upstream. An owning peer that cannot be reached is
   * replaced by this edge's own upstream, whose answer is then not kept (`store` false).
   */
  private async openForCache(route: Route, path: string, headers: OutgoingHttpHeaders): Promise<{ head: UpstreamHead; store: boolean; error?: undefined } | { error: UpstreamError }> {
    try {
      return { head: await route.upstream.open({ method: 'GET', path, headers }, route.url), store: route.store };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      if (!route.peer) return { error };
      // The owning peer is unreachable: fetch from our own upstream, without keeping a copy.
      this.logger.warn({ path, err: error.message }, 'peer failed, falling back to own upstream');
      delete headers[HOP_HEADER];
      try {
        return { head: await this.deps.upstream.open({ method: 'GET', path, headers }), store: false };
      } catch (fallbackError) {
        if (fallbackError instanceof UpstreamError) return { error: fallbackError };
        throw fallbackError;
      }
    }
  }

  /** A response for the cache whose head arrived (see fetchForCache): refreshed, kept or streamed. */
  private async received(
    head: UpstreamHead,
    store: boolean,
    client: ClientInfo,
    path: string,
    primary: string,
    directives: Directives,
    entry: StoredResponse | undefined,
    route: Route,
    streamTo?: (streamed: Streamed) => void,
  ): Promise<Outcome> {
    const upstreamCacheStatus = first(head.headers['cache-status']);
    let body = head.body.takeComplete();
    if (body === undefined && (streamTo === undefined || (entry !== undefined && head.status >= 500) || head.status === 304)) {
      try {
        body = await head.body.whole(this.maxObjectBytes);
      } catch (error) {
        if (error instanceof UpstreamError) return { kind: 'error', error };
        throw error;
      }
      if (body === undefined) {
        // Too large to keep, and nobody to stream it to (a background revalidation), or an error
        // response the stale entry may stand in for: not worth its bytes.
        if (entry !== undefined && head.status >= 500) return { kind: 'error', error: new UpstreamError('failed', head.kind, `${head.kind} answered ${head.status} with a body over ${this.maxObjectBytes} bytes`) };
        if (entry && supersedes(this.described(head, primary, client, directives), directives)) this.store.policy.delete(entry.key);
        return { kind: 'passed' };
      }
    }
    if (entry && head.status === 304) {
      // A 304 about another representation cannot freshen this one (§4.3.4): fetch it in full.
      if (!selectedBy304(entry, head.headers)) return this.fetchForCache(client, path, primary, directives, undefined, route, streamTo);
      const refreshed = refreshStoredResponse(entry, { headers: head.headers, requestTime: head.requestTime, responseTime: head.body.responseTime }, {
        requestHeaders: client.headers,
        requestDirectives: directives,
        via: this.deps.edgeId,
        negativeTtlMs: this.deps.negativeTtlMs,
        storeSetCookie: this.deps.storeSetCookie,
      });
      const stored = store && refreshed.storability.storable && this.store.put(refreshed);
      return { kind: 'response', response: refreshed, stored, notModified: true, upstreamCacheStatus };
    }
    if (body !== undefined) return this.keep(head, body, head.body.responseTime, primary, client, directives, entry, store, upstreamCacheStatus);
    // Streamed: the client gets the head now and the body as it arrives.
    const described = this.described(head, primary, client, directives);
    const declared = Number(first(head.headers['content-length']) ?? Number.NaN);
    const tooLarge = declared > this.maxObjectBytes;
    const keeping = store && described.storability.storable && !tooLarge;
    const relay = new BodyRelay(head.body, keeping ? this.maxObjectBytes : 0);
    (streamTo as (streamed: Streamed) => void)({ response: described, relay, stored: keeping && !Number.isNaN(declared), tooLarge, upstreamCacheStatus });
    const kept = await relay.kept;
    if (kept === undefined) {
      if (entry && !relay.failed && supersedes(described, directives)) this.store.policy.delete(entry.key);
      return { kind: 'passed' };
    }
    return this.keep(head, kept, head.body.responseTime, primary, client, directives, entry, store, upstreamCacheStatus);
  }

  /** A complete response: built, stored if it may be, and replacing a stale entry it supersedes. */
  private keep(
    head: UpstreamHead,
    body: Buffer,
    responseTime: number,
    primary: string,
    client: ClientInfo,
    directives: Directives,
    entry: StoredResponse | undefined,
    store: boolean,
    upstreamCacheStatus: string | undefined,
  ): Outcome {
    const response = this.fromHead(head, primary, client, directives, body, false, responseTime);
    const stored = store && response.storability.storable && this.store.put(response);
    if (entry && !stored && supersedes(response, directives)) this.store.policy.delete(entry.key);
    return { kind: 'response', response, stored, notModified: false, upstreamCacheStatus };
  }

  /** A response described from its head alone (its body still arriving): fields, freshness, storability. */
  private described(head: UpstreamHead, primary: string, client: ClientInfo, directives: Directives): StoredResponse {
    return this.fromHead(head, primary, client, directives, NO_BODY, true, this.now());
  }

  /** A GET's stored response from an upstream head, with its body (or NO_BODY while it is still arriving). */
  private fromHead(
    head: UpstreamHead,
    primary: string,
    client: ClientInfo,
    directives: Directives,
    body: Buffer,
    bodyPending: boolean,
    responseTime: number,
  ): StoredResponse {
    // Literals written out in full: a spread (`{ ...context, primaryKey }`) sends every added
    // property through V8's runtime, ~10 µs of a miss's CPU (perf, loadtest/BENCH.md).
    return buildStoredResponse({
      primaryKey: primary,
      requestHeaders: client.headers,
      requestDirectives: directives,
      method: 'GET',
      status: head.status,
      headers: head.headers,
      body,
      bodyPending,
      requestTime: head.requestTime,
      responseTime,
      via: this.deps.edgeId,
      negativeTtlMs: this.deps.negativeTtlMs,
      storeSetCookie: this.deps.storeSetCookie,
    });
  }

  /**
   * Forwards a request the cache takes no part in (other methods, Authorization, preconditions). The
   * request body streams to the upstream (413 past MAX_REQUEST_BODY_BYTES: at once for a declared
   * length, else when the count passes it, which cuts the upstream request short), and the response
   * streams back unless it came whole with its head.
   */
  private async passThrough(req: IncomingMessage, res: ServerResponse, path: string, fwd: 'method' | 'bypass', detail: string | undefined): Promise<void> {
    const method = req.method as string;
    const upload = method === 'GET' || method === 'HEAD' ? undefined : requestBody(req, this.deps.maxRequestBodyBytes);
    // In a sharded fleet the owner gets it, so an unsafe method invalidates the one copy there is.
    const route = this.routeFor(primaryKey(path), req);
    const headers = this.forwardHeaders(clientOf(req), false, route.peer);
    let head: UpstreamHead;
    try {
      head = await route.upstream.open({ method, path, headers, body: upload?.body, bodyLength: upload?.length }, route.url);
    } catch (error) {
      upload?.check();
      if (error instanceof UpstreamError) return this.respond.upstreamFailed(req, res, error, fwd, false);
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
    if (whole !== undefined) return this.respond.write(req, res, response.status, out, whole, 'bypass');
    this.respond.serveStreamed(req, res, { response, relay: new BodyRelay(head.body, 0), stored: false, tooLarge: false, upstreamCacheStatus: undefined }, fwd, out);
  }

  private routeFor(primary: string, req: IncomingMessage): Route {
    const peers = this.deps.peers;
    if (peers && !this.fromPeer(req.headers)) {
      const owner = peers.ownerOf(primary);
      if (owner !== undefined && owner !== peers.selfId) return { upstream: peers.upstream, url: peers.urlOf.get(owner), store: false, peer: true };
    }
    return { upstream: this.deps.upstream, store: true, peer: false };
  }

  /** Request fields to send upstream: end-to-end ones only (§7.6.1), plus Via and X-Forwarded-For. */
  private forwardHeaders(client: ClientInfo, fill: boolean, toPeer: boolean): OutgoingHttpHeaders {
    const source: IncomingHttpHeaders = client.headers;
    const listed = connectionTokens(source.connection);
    const out: OutgoingHttpHeaders = {};
    for (const [name, value] of Object.entries(source)) {
      if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || ALWAYS_DROPS.has(name)) continue;
      if (fill && FILL_DROPS.has(name)) continue;
      out[name] = value;
    }
    out.via = appendVia(source.via, this.deps.edgeId);
    const address = client.remoteAddress;
    const forwardedFor = first(source['x-forwarded-for']);
    if (address !== undefined) out['x-forwarded-for'] = forwardedFor ? `${forwardedFor}, ${address}` : address;
    else if (forwardedFor !== undefined) out['x-forwarded-for'] = forwardedFor;
    if (toPeer) out[HOP_HEADER] = this.deps.fleetSecret ?? this.deps.edgeId;
    return out;
  }
}

/**
 * Whether a coalesced follower may take the leader's outcome: a response the cache would store and
 * serve to anyone (storable, and the variant the follower's own headers select), or a timeout (the
 * follower already waited the whole deadline; asking again would double it while the origin hangs).
 * Anything else (an error status, no-store, private, Set-Cookie, a connection failure) may be the
 * leader's own: nginx's cache lock and Varnish's waiting list do not hand those to waiting requests.
 */
function servesFollower(outcome: Outcome, req: IncomingMessage): boolean {
  if (outcome.kind === 'error') return outcome.error.reason === 'timeout';
  if (outcome.kind === 'passed') return false;
  const response = outcome.response;
  if (!response.storability.storable) return false;
  return response.varyNames[0] !== '*' && variantKey(response.primaryKey, response.varyNames, req.headers) === response.key;
}

/**
 * Whether a response that was not stored replaces the stale entry it revalidated: a non-error answer
 * that nobody may store (the resource changed, or no longer allows caching), or a storable one the
 * policy did not admit. A failed revalidation (4xx/5xx, perhaps caused by the one client's request
 * headers) or a response only this client may not share never deletes a good stored object.
 */
function supersedes(response: StoredResponse, requestDirectives: Directives): boolean {
  if (response.status >= 400) return false;
  const storability = response.storability;
  if (storability.storable) return true;
  if (storability.reason === 'no-store' && requestDirectives.has('no-store')) return false;
  return EVERYONES_REASONS.has(storability.reason);
}

/** A response that was neither kept nor streamed (cannot happen with a client to stream to): a 502. */
function tooLargeError(route: Route): UpstreamError {
  return new UpstreamError('failed', route.upstream.kind, 'response too large to buffer');
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
