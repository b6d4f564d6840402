// Partial content for the cache (RFC 9111 §3.3, §3.4): answering from a partial entry, and filling
// a range: the missing slices asked upstream with If-Range, the 206 kept and combined with what is
// held, the client's range answered from the result. Whole-representation fills are fill.ts's.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import type { CacheStore } from './cache-store.ts';
import type { Directives } from './http/cache-control.ts';
import { primaryKey } from './http/cache-key.ts';
import { appendCacheStatus, cacheStatus, type ForwardReason } from './http/cache-status.ts';
import { notModified } from './http/conditional.ts';
import { ageSeconds, currentAge } from './http/freshness.ts';
import { first } from './http/headers.ts';
import { decideRange, formatRange, parseContentRange, parseSingleRange, resolveRange, type ByteRangeSpec, type RangeDecision } from './http/range.ts';
import type { Decision } from './decision.ts';
import { NO_BODY, supersedes, tooLargeError, type Filler } from './fill.ts';
import { addPart, alignToSlices, heldBytes, isComplete, missingCover } from './partial-content.ts';
import { BodyRelay } from './relay.ts';
import { fetchedStatus, type Exchange, type Responder } from './respond.ts';
import { clientOf, type ClientInfo, type Route, type Routing } from './route.ts';
import { buildStoredResponse, storedFields, updatedSourceHeaders, validatorsOf, type PartialContent, type StoredResponse } from './stored-response.ts';
import { UpstreamError, type UpstreamHead } from './upstream.ts';

const FULL: RangeDecision = { kind: 'full' };

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

export interface RangeFillDeps {
  edgeId: string;
  store: CacheStore;
  now: () => number;
  fill: Filler;
  respond: Responder;
  routing: Routing;
  negativeTtlMs: number;
  storeSetCookie: boolean | undefined;
  maxObjectBytes: number;
  /** RANGE_SLICE_BYTES: Range misses fetch whole slices of this size and keep the 206. */
  rangeSliceBytes: number;
  /** A fill of the whole representation (the request path's own miss). */
  miss(ex: Exchange, path: string, directives: Directives, fwd: ForwardReason): Promise<void>;
}

export class RangeFill {
  private readonly deps: RangeFillDeps;
  private readonly store: CacheStore;
  private readonly now: () => number;
  private readonly fill: Filler;
  private readonly respond: Responder;
  private readonly routing: Routing;
  private readonly maxObjectBytes: number;
  private readonly rangeSliceBytes: number;

  constructor(deps: RangeFillDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.now = deps.now;
    this.fill = deps.fill;
    this.respond = deps.respond;
    this.routing = deps.routing;
    this.maxObjectBytes = deps.maxObjectBytes;
    this.rangeSliceBytes = deps.rangeSliceBytes;
  }

  /** Whether Range misses are filled by slices (RANGE_SLICE_BYTES > 0). */
  get enabled(): boolean {
    return this.rangeSliceBytes > 0;
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
  async fromPartial(
    ex: Exchange,
    path: string,
    entry: StoredResponse,
    partial: PartialContent,
    directives: Directives,
    decision: Decision,
    now: number,
  ): Promise<void> {
    const { req } = ex;
    const ageMs = currentAge(entry, now);
    const usable = decision.kind === 'fresh';
    const h = req.headers;
    const length = partial.completeLength;
    const hit = cacheStatus({ hit: true, ttl: Math.floor((entry.lifetimeMs - ageMs) / 1000) });
    if (usable) {
      if (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined) {
        if (notModified({ ifNoneMatch: first(h['if-none-match']), ifModifiedSince: first(h['if-modified-since']) }, validatorsOf(entry))) {
          return this.respond.writeNotModified(ex, entry, ageMs, hit, 'hit');
        }
      }
      if (req.method === 'HEAD') {
        const headers = storedFields(entry).concat('content-length', String(length), 'age', String(ageSeconds(ageMs)), 'cache-status', hit);
        return this.respond.write(ex, 200, headers, undefined, 'hit');
      }
    }
    const range = req.method === 'HEAD' ? FULL : decideRange(first(h.range), length, { value: first(h['if-range']), etag: entry.etag, lastModified: entry.lastModified });
    if (usable && range.kind === 'partial') {
      const bytes = heldBytes(partial, entry.body, range.start, range.end);
      if (bytes !== undefined) return this.respond.writePartial(ex, entry, range.start, range.end, length, bytes, ageMs, hit, 'hit');
    }
    if (usable && range.kind === 'unsatisfiable') return this.respond.writeUnsatisfiable(ex, length, hit, 'hit');
    if (directives.has('only-if-cached')) return this.respond.onlyIfCachedMiss(ex);
    const fwd: ForwardReason = decision.kind === 'revalidate' ? decision.fwd : 'partial';
    const held = usable && combinable(entry) ? entry : undefined;
    if (range.kind === 'partial') {
      // Fresh: the range is known in bytes. Stale: the client's own range, the length may have changed.
      const spec = usable ? { first: range.start, last: range.end } : (parseSingleRange(first(h.range)) as ByteRangeSpec);
      return this.rangeFetch(ex, path, directives, { spec, whole: false, held, found: entry, fwd, retried: false });
    }
    if (range.kind === 'unsatisfiable') {
      return this.rangeFetch(ex, path, directives, { spec: parseSingleRange(first(h.range)) as ByteRangeSpec, whole: false, held: undefined, found: entry, fwd, retried: false });
    }
    // The whole representation (no Range, several ranges, an If-Range that does not match, HEAD).
    if (held !== undefined && length <= this.maxObjectBytes && req.method === 'GET') {
      return this.rangeFetch(ex, path, directives, { spec: { first: 0, last: length - 1 }, whole: true, held, found: entry, fwd, retried: false });
    }
    return this.deps.miss(ex, path, directives, fwd);
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
  async rangeFetch(ex: Exchange, path: string, directives: Directives, plan: RangePlan): Promise<void> {
    const { req } = ex;
    const { spec, held } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const route = this.routing.routeFor(primary, req);
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
    const headers = this.routing.forwardHeaders(client, true, route.peer);
    headers.range = range;
    if (ifRange !== undefined) headers['if-range'] = ifRange;
    // The held bytes are copied into the combined entry when the part arrives: held until then.
    const combineWith = keep ? held : undefined;
    const exchange = () => this.exchangeRange(ex, path, directives, plan, route, headers, keep, range === formatRange(spec), combineWith);
    return combineWith === undefined ? exchange() : this.store.holding(combineWith.body, exchange);
  }

  /** rangeFetch's exchange: `exact` when the range asked is the client's own. */
  private async exchangeRange(
    ex: Exchange,
    path: string,
    directives: Directives,
    plan: RangePlan,
    route: Route,
    headers: OutgoingHttpHeaders,
    keep: boolean,
    exact: boolean,
    combineWith: StoredResponse | undefined,
  ): Promise<void> {
    const { req } = ex;
    const { held, found, fwd } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const opened = await this.fill.openForCache(route, path, headers);
    if (opened.error !== undefined) return this.respond.upstreamFailed(ex, opened.error, fwd, false);
    const head = opened.head;
    // Kept: the slices asked for; or the client's own range when nothing was held (a part too large to combine is not).
    if (head.status === 206) return this.receivedPart(ex, path, directives, plan, head, opened.store && (keep || held === undefined), exact, combineWith);
    if (head.status === 416) {
      // The representation is shorter than the range: whatever was held of it is another one.
      if (found !== undefined) this.store.policy.delete(found.key);
      const body = await this.wholeOrError(head);
      if (body instanceof UpstreamError) return this.respond.upstreamFailed(ex, body, fwd, false);
      const response = this.fill.fromHead(head, primary, client, directives, body, false, head.body.responseTime);
      const cs = appendCacheStatus(first(head.headers['cache-status']), cacheStatus({ fwd }));
      return this.respond.write(ex, 416, response.hitHeaders.concat('cache-status', cs), body, 'miss');
    }
    // A 200 (the upstream ignored Range, or If-Range found another representation) or any other
    // status: as for a request without Range. The client's range is answered from a complete 200.
    let streamed = false;
    const outcome = await this.fill.received(head, opened.store, client, path, primary, directives, found, route, (response) => {
      streamed = true;
      this.respond.serveStreamed(ex, response, fwd);
    });
    if (streamed) return;
    if (outcome.kind === 'error') return this.respond.upstreamFailed(ex, outcome.error, fwd, false);
    if (outcome.kind === 'passed') return this.respond.upstreamFailed(ex, tooLargeError(route), fwd, false);
    return this.respond.serveOutcome(ex, outcome, fwd, false);
  }

  /**
   * A 206 to rangeFetch's request. Kept when `store` (and storable, within MAX_OBJECT_BYTES); sent
   * on as it arrives when it is the client's own range and too large to read first (`exact`).
   */
  private async receivedPart(
    ex: Exchange,
    path: string,
    directives: Directives,
    plan: RangePlan,
    head: UpstreamHead,
    store: boolean,
    exact: boolean,
    held: StoredResponse | undefined,
  ): Promise<void> {
    const { req } = ex;
    const { fwd, found } = plan;
    const client = clientOf(req);
    const primary = primaryKey(path);
    const upstreamCacheStatus = first(head.headers['cache-status']);
    let body = head.body.takeComplete();
    if (body === undefined) {
      const declared = Number(first(head.headers['content-length']) ?? Number.NaN);
      if (exact && !(declared <= this.maxObjectBytes)) {
        // The client's own range, too large to keep: passed on as it arrives.
        const response = this.fill.described(head, primary, client, directives);
        return this.respond.serveStreamed(ex, { response, relay: new BodyRelay(head.body, 0), stored: false, tooLarge: declared > this.maxObjectBytes, upstreamCacheStatus }, fwd);
      }
      const whole = await this.wholeOrError(head);
      if (whole instanceof UpstreamError) return this.respond.upstreamFailed(ex, whole, fwd, false);
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
      response = this.fill.fromHead(head, primary, client, directives, body, false, head.body.responseTime);
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
    if (response.partial === undefined && response.status === 200) return this.respond.serveStored(ex, response, ageMs, cs, result);
    if (plan.whole) {
      // The part did not complete the representation (another one, or fewer bytes than asked): fetch it whole.
      return this.deps.miss(ex, path, directives, fwd);
    }
    if (response.partial === undefined) return this.respond.write(ex, response.status, response.hitHeaders.concat('age', String(ageSeconds(ageMs)), 'cache-status', cs), response.body, result);
    const decision = resolveRange(plan.spec, response.partial.completeLength);
    if (decision.kind === 'unsatisfiable') return this.respond.writeUnsatisfiable(ex, response.partial.completeLength, cs, result);
    const bytes = heldBytes(response.partial, response.body, decision.start, decision.end);
    if (bytes !== undefined) return this.respond.writePartial(ex, response, decision.start, decision.end, response.partial.completeLength, bytes, ageMs, cs, result);
    if (!plan.retried) {
      // Only the missing bytes were asked, and they belong to another representation than the held
      // ones: ask once more for the client's range, completing the part just kept if it was.
      const next = stored && combinable(response) ? response : undefined;
      return this.rangeFetch(ex, path, directives, { ...plan, held: next, found: stored ? response : undefined, retried: true });
    }
    return this.respond.upstreamFailed(ex, new UpstreamError('failed', head.kind, `${head.kind} did not send the range asked for`), fwd, false);
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
}

/**
 * Whether a partial entry may be combined with a later part (RFC 9111 §3.4): only by a strong ETag
 * (a Last-Modified date is not trusted as a strong validator here, and weak tags never combine).
 */
function combinable(entry: StoredResponse): boolean {
  return entry.partial !== undefined && entry.etag !== undefined && !entry.etag.startsWith('W/');
}
