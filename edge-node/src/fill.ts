// Filling the cache (the middle of the request path): one upstream exchange per key through the
// coalescer, conditional when an entry is being revalidated, and what comes back refreshed, stored,
// or streamed on to its client while it is kept. Answering the client is respond.ts's.
import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import type { Logger } from '@cdn-lab/service-kit';
import type { CacheStore } from './cache-store.ts';
import type { Coalescer } from './coalescer.ts';
import type { Directives } from './http/cache-control.ts';
import { variantKey } from './http/cache-key.ts';
import { first } from './http/headers.ts';
import type { EdgeMetrics } from './metrics.ts';
import { BodyRelay } from './relay.ts';
import type { Fetched, Streamed } from './respond.ts';
import { clientOf, HOP_HEADER, type ClientInfo, type Route, type Routing } from './route.ts';
import { buildStoredResponse, refreshStoredResponse, selectedBy304, type StoredResponse } from './stored-response.ts';
import { UpstreamError, type UpstreamHead } from './upstream.ts';

/**
 * Reasons a successful response is not stored that hold for everyone who asks (the response itself
 * says so): such a response supersedes a stale entry. Others (`private`, `set-cookie`, a request's
 * `no-store`) may come from the one client's request, which must not remove what others are served.
 */
const EVERYONES_REASONS = new Set(['no-store', 'vary-star', 'no-freshness', 'status', 'must-understand']);

/** The body of a response described before its body arrived. */
export const NO_BODY = Buffer.alloc(0);

/** `passed`: the response was streamed to the client that asked and not kept; nobody else may take it. */
export type Outcome = ({ kind: 'response' } & Fetched) | { kind: 'error'; error: UpstreamError } | { kind: 'passed' };

export interface FillDeps {
  edgeId: string;
  store: CacheStore;
  metrics: EdgeMetrics;
  logger: Logger;
  now: () => number;
  coalescer: Coalescer;
  routing: Routing;
  negativeTtlMs: number;
  /** STORE_SET_COOKIE: responses with Set-Cookie may be stored (and served with it to everyone). */
  storeSetCookie: boolean | undefined;
  /** MAX_OBJECT_BYTES: larger responses are passed on as they arrive and not stored. */
  maxObjectBytes: number;
}

export class Filler {
  private readonly deps: FillDeps;
  private readonly store: CacheStore;
  private readonly metrics: EdgeMetrics;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly routing: Routing;
  private readonly maxObjectBytes: number;
  /** Keys with a stale-while-revalidate refresh in flight. */
  private readonly revalidating = new Set<string>();

  constructor(deps: FillDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.metrics = deps.metrics;
    this.logger = deps.logger;
    this.now = deps.now;
    this.routing = deps.routing;
    this.maxObjectBytes = deps.maxObjectBytes;
  }

  /**
   * Runs `fetch` through the coalescer. A follower takes the leader's outcome only if it could have
   * been served to it from the cache (servesFollower); otherwise the leader's own request may have caused
   * it (an error for its headers, a response for its cookies), so the follower asks again: once more
   * through the coalescer (the first such follower leads, the others wait for it), then on its own.
   */
  async fetchShared(req: IncomingMessage, key: string, fetch: () => Promise<Outcome>): Promise<{ outcome: Outcome; collapsed: boolean }> {
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

  revalidateInBackground(req: IncomingMessage, path: string, entry: StoredResponse): void {
    // One background revalidation per key, however many stale hits arrive meanwhile.
    if (this.revalidating.has(entry.key)) return;
    this.revalidating.add(entry.key);
    const route = this.routing.routeFor(entry.primaryKey, req);
    const client = clientOf(req);
    const joined = this.deps.coalescer.run(entry.key, () => this.store.holding(entry.body, () => this.fetchForCache(client, path, entry.primaryKey, new Map(), entry, route)));
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
   * One upstream exchange for the cache: conditional when `entry` is given; stores what may be stored.
   * A body that came with its head (most) is handled whole. Any other is streamed to `streamTo`'s
   * client as it arrives (when given, and unless a 5xx may yet be replaced by the stale entry) while
   * it is kept for the cache up to MAX_OBJECT_BYTES; without a client it is read whole up to that
   * limit. The promise settles when the outcome is final for followers: at the head for a response
   * nobody else may take, else when the kept body is complete.
   */
  async fetchForCache(
    client: ClientInfo,
    path: string,
    primary: string,
    directives: Directives,
    entry: StoredResponse | undefined,
    route: Route,
    streamTo?: (streamed: Streamed) => void,
  ): Promise<Outcome> {
    const headers = this.routing.forwardHeaders(client, true, route.peer);
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
  async openForCache(route: Route, path: string, headers: OutgoingHttpHeaders): Promise<{ head: UpstreamHead; store: boolean; error?: undefined } | { error: UpstreamError }> {
    try {
      return { head: await route.upstream.open({ method: 'GET', path, headers }, route.url), store: route.store };
    } catch (error) {
      if (!(error instanceof UpstreamError)) throw error;
      if (!route.peer) return { error };
      // The owning peer is unreachable: fetch from our own upstream, without keeping a copy.
      this.logger.warn({ path, err: error.message }, 'peer failed, falling back to own upstream');
      delete headers[HOP_HEADER];
      try {
        return { head: await this.routing.upstream.open({ method: 'GET', path, headers }), store: false };
      } catch (fallbackError) {
        if (fallbackError instanceof UpstreamError) return { error: fallbackError };
        throw fallbackError;
      }
    }
  }

  /** A response for the cache whose head arrived (see fetchForCache): refreshed, kept or streamed. */
  async received(
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
  described(head: UpstreamHead, primary: string, client: ClientInfo, directives: Directives): StoredResponse {
    return this.fromHead(head, primary, client, directives, NO_BODY, true, this.now());
  }

  /** A GET's stored response from an upstream head, with its body (or NO_BODY while it is still arriving). */
  fromHead(
    head: UpstreamHead,
    primary: string,
    client: ClientInfo,
    directives: Directives,
    body: Buffer,
    bodyPending: boolean,
    responseTime: number,
  ): StoredResponse {
    // Literals written out in full: a spread (`{ ...context, primaryKey }`) sends every added
    // property through V8's runtime, which showed in a miss's CPU profile.
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
export function supersedes(response: StoredResponse, requestDirectives: Directives): boolean {
  if (response.status >= 400) return false;
  const storability = response.storability;
  if (storability.storable) return true;
  if (storability.reason === 'no-store' && requestDirectives.has('no-store')) return false;
  return EVERYONES_REASONS.has(storability.reason);
}

/** A response that was neither kept nor streamed (cannot happen with a client to stream to): a 502. */
export function tooLargeError(route: Route): UpstreamError {
  return new UpstreamError('failed', route.upstream.kind, 'response too large to buffer');
}
