// A response as the edge keeps and serves it: parsed once when it arrives, with everything a hit
// needs precomputed (the header list minus Age and Cache-Status, the body as one Buffer), so the
// fast path only adds two headers and writes. Kept compact because the cache holds ~10^4 of them:
// one flat header list (no copy of the upstream's header object, no second list, no directive Map),
// the few parsed fields freshness needs, and the source fields the list leaves out only when present.
import type { IncomingHttpHeaders } from 'node:http';
import { deltaSeconds, effectiveResponseDirectives, type Directives } from './http/cache-control.ts';
import { parseVary, variantKey } from './http/cache-key.ts';
import { weakMatch, type Validators } from './http/conditional.ts';
import { correctedInitialAge, freshnessLifetime } from './http/freshness.ts';
import { appendVia, endToEndHeaders, flatGet, HOP_BY_HOP } from './http/headers.ts';
import { storability, type Storability } from './http/storability.ts';

/**
 * Fields never copied into the stored header list: recomputed per response, or addressed to the
 * CDN itself (tags, and Surrogate-Control, which a surrogate removes before clients see it).
 */
const NOT_STORED = new Set(['content-length', 'age', 'cache-status', 'via', 'surrogate-key', 'cache-tag', 'surrogate-control']);
/** A partial entry's list also leaves out Content-Range: each answer from it says which bytes it encloses. */
const NOT_STORED_PARTIAL = new Set([...NOT_STORED, 'content-range']);
/** Of those, the ones kept aside (in `sourceExtras`) because a later 304 update rebuilds from them. */
const KEPT_ASIDE = ['via', 'surrogate-key', 'cache-tag', 'surrogate-control'] as const;
/**
 * Stored fields a 304 does not replace (RFC 9111 §3.2): they describe the stored body, which the 304
 * does not carry (its length, coding, range and digests), or name it (the validator that selected it).
 */
const KEPT_ON_UPDATE = new Set(['content-length', 'content-encoding', 'content-range', 'content-md5', 'digest', 'content-digest', 'repr-digest', 'etag']);
/**
 * Header values repeat across entries (Cache-Control, Content-Type, Via, Date within a second, tags),
 * but the HTTP parser gives every response its own copies: short values are shared through this table,
 * emptied when it fills so it stays bounded whatever the upstream sends. Validators are left out:
 * they name one representation, so they almost never repeat, and letting them in filled the table
 * with values nobody shares (a lookup that misses in a large table costs a miss ~0.4 µs each).
 */
const INTERNED = new Map<string, string>();
const INTERN_MAX_ENTRIES = 8192;
const INTERN_MAX_LENGTH = 128;

function intern(value: string): string {
  if (value.length > INTERN_MAX_LENGTH) return value;
  const known = INTERNED.get(value);
  if (known !== undefined) return known;
  if (INTERNED.size >= INTERN_MAX_ENTRIES) INTERNED.clear();
  INTERNED.set(value, value);
  return value;
}

/** Fields whose values are not interned (see INTERNED). */
const UNSHARED_VALUES = new Set(['etag', 'last-modified']);

/**
 * A flat `[name, value…]` list as an exact-capacity copy with names and values interned (arrays
 * built by push keep spare slots otherwise).
 */
function compactFields(list: readonly string[]): string[] {
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i += 2) {
    const name = intern(list[i] as string);
    const value = list[i + 1] as string;
    out[i] = name;
    out[i + 1] = UNSHARED_VALUES.has(name) ? value : intern(value);
  }
  return out;
}

/** An exact-capacity copy of a list of values, interned. */
function compactValues(list: readonly string[]): string[] {
  const out = new Array<string>(list.length);
  for (let i = 0; i < list.length; i++) out[i] = intern(list[i] as string);
  return out;
}

/** Shared by every entry that has no Vary, no tags (most of them): one array instead of one each. */
const NONE: string[] = [];
Object.freeze(NONE);

/**
 * What a stored 206 holds of its representation (RFC 9111 §3.3): the complete length its
 * Content-Range gave, and the byte ranges held, flat `[first, last, first, last…]` (inclusive),
 * ascending, neither overlapping nor adjacent. The entry's body is their bytes in that order.
 */
export interface PartialContent {
  readonly completeLength: number;
  readonly ranges: readonly number[];
}

export interface StoredResponse {
  /** Primary cache key (origin-form target). */
  readonly primaryKey: string;
  /** Key in the policy: the primary key, plus the Vary'd request header values (§4.1). */
  readonly key: string;
  readonly status: number;
  /**
   * What a full 200/HEAD answer sends before Age and Cache-Status, flat `[name, value…]`: the
   * end-to-end fields, Via (with this edge), and Content-Length last (absent for 204/304/1xx).
   */
  readonly hitHeaders: string[];
  /**
   * Upstream fields left out of `hitHeaders` that a §4.3.4 update must carry over (the upstream's
   * own Via, Surrogate-Key, Cache-Tag), flat; undefined when there were none.
   */
  readonly sourceExtras: string[] | undefined;
  readonly body: Buffer;
  /**
   * Set for a partial entry (status 206): the ranges its body holds. Its `hitHeaders` then have
   * neither Content-Range nor Content-Length, which every answer from it sets for what it encloses.
   */
  readonly partial: PartialContent | undefined;
  /** Bytes charged against the cache budget: body plus header text (a partial entry: the bytes held). */
  readonly size: number;
  /** Clock readings (ms) of the upstream exchange that produced or last validated this response. */
  readonly requestTime: number;
  readonly responseTime: number;
  /** §4.2.3 corrected_initial_age, ms. */
  readonly correctedInitialAgeMs: number;
  /** §4.2.1 freshness lifetime, ms. */
  readonly lifetimeMs: number;
  readonly etag: string | undefined;
  readonly lastModified: string | undefined;
  /** Request headers this response varies on (sorted, lowercase); `['*']` for Vary: *. */
  readonly varyNames: string[];
  /** Surrogate-Key / Cache-Tag values, for purge by tag. */
  readonly tags: string[];
  /** `no-cache` (§5.2.2.4): every reuse needs validation. */
  readonly noCache: boolean;
  /** must-revalidate, proxy-revalidate or s-maxage (§5.2.2.2, §5.2.2.8, §5.2.2.10): never served stale. */
  readonly mustRevalidate: boolean;
  /** RFC 5861 windows, ms. */
  readonly staleWhileRevalidateMs: number;
  readonly staleIfErrorMs: number;
  readonly storability: Storability;
  /** Set by a soft purge: treated as stale from then on. */
  invalidated: boolean;
  /**
   * The status line and `hitHeaders` as wire text (http/head-block.ts), built on the entry's first
   * fast hit: undefined until then, null when the entry must go through writeHead.
   */
  headBlock: string | null | undefined;
}

export interface BuildInput {
  primaryKey: string;
  /** The client request's headers (Vary values, Authorization). */
  requestHeaders: IncomingHttpHeaders;
  requestDirectives: Directives;
  /** Upstream method: a HEAD exchange has no body but keeps its Content-Length. */
  method: string;
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /**
   * The body is still arriving (a streamed response, described before its body: `body` is empty):
   * Content-Length is the upstream's, when it sent one.
   */
  bodyPending?: boolean;
  requestTime: number;
  responseTime: number;
  /** This edge's Via pseudonym. */
  via: string;
  negativeTtlMs: number;
  /** STORE_SET_COOKIE: responses with Set-Cookie may be stored. */
  storeSetCookie?: boolean;
  /** For a POST: the response's Content-Location is the request's target (so it may be stored). */
  contentLocationIsTarget?: boolean;
  /** A 206 kept as a partial entry: what `body` holds (see PartialContent). */
  partial?: PartialContent | undefined;
}

function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function windowMs(directives: Directives, name: string): number {
  const seconds = deltaSeconds(directives, name);
  return seconds === undefined || Number.isNaN(seconds) ? 0 : seconds * 1000;
}

/** Surrogate-Key (space-separated) and Cache-Tag (comma-separated) values, once each; NONE without them. */
function parseTags(headers: IncomingHttpHeaders): string[] {
  const surrogate = first(headers['surrogate-key']);
  const cacheTag = first(headers['cache-tag']);
  if (!surrogate && !cacheTag) return NONE;
  const tags: string[] = [];
  if (surrogate) for (const tag of surrogate.split(TAG_SPACES)) if (tag !== '') tags.push(tag);
  if (cacheTag) {
    for (const item of cacheTag.split(',')) {
      const tag = item.trim();
      if (tag !== '') tags.push(tag);
    }
  }
  if (tags.length === 0) return NONE;
  // A short list (the usual one or two keys) is checked for repeats in place; a long one through a Set.
  const unique = tags.length <= 16 ? tags.filter((tag, i) => tags.indexOf(tag) === i) : [...new Set(tags)];
  return compactValues(unique);
}
const TAG_SPACES = /\s+/;

/** Statuses that never carry content (RFC 9110 §6.4.1), so no Content-Length is added. */
function hasNoContent(status: number): boolean {
  return status === 204 || status === 304 || (status >= 100 && status < 200);
}

export function buildStoredResponse(input: BuildInput): StoredResponse {
  const h = input.headers;
  const { directives } = effectiveResponseDirectives(h['cache-control'], h['cdn-cache-control'], h['surrogate-control']);
  const date = first(h.date);
  const freshness = freshnessLifetime({
    status: input.status,
    directives,
    expires: first(h.expires),
    date,
    lastModified: first(h['last-modified']),
    responseTime: input.responseTime,
    negativeTtlMs: input.negativeTtlMs,
  });
  const varyNames = parseVary(h.vary);
  const etag = first(h.etag);
  const lastModified = first(h['last-modified']);
  const partial = input.partial;
  const hitHeaders = endToEndHeaders(h, partial === undefined ? NOT_STORED : NOT_STORED_PARTIAL);
  hitHeaders.push('via', appendVia(h.via, input.via));
  if (!hasNoContent(input.status) && partial === undefined) {
    const length = input.method === 'HEAD' || input.bodyPending === true ? first(h['content-length']) : String(input.body.length);
    if (length !== undefined) hitHeaders.push('content-length', length);
  }
  let headerBytes = 0;
  for (const part of hitHeaders) headerBytes += part.length;
  let sourceExtras: string[] | undefined;
  for (const name of KEPT_ASIDE) {
    const value = h[name];
    if (value === undefined) continue;
    sourceExtras ??= [];
    if (Array.isArray(value)) for (const item of value) sourceExtras.push(name, item);
    else sourceExtras.push(name, value);
  }
  const tags = parseTags(h);
  return {
    primaryKey: input.primaryKey,
    key: varyNames[0] === '*' ? input.primaryKey : variantKey(input.primaryKey, varyNames, input.requestHeaders),
    status: input.status,
    hitHeaders: compactFields(hitHeaders),
    sourceExtras: sourceExtras && compactFields(sourceExtras),
    body: input.body,
    partial,
    size: input.body.length + headerBytes,
    requestTime: input.requestTime,
    responseTime: input.responseTime,
    correctedInitialAgeMs: correctedInitialAge({ date, age: first(h.age), requestTime: input.requestTime, responseTime: input.responseTime }),
    lifetimeMs: freshness.lifetimeMs,
    etag,
    lastModified,
    varyNames: varyNames.length === 0 ? NONE : varyNames,
    tags,
    noCache: directives.has('no-cache'),
    mustRevalidate: directives.has('must-revalidate') || directives.has('proxy-revalidate') || directives.has('s-maxage'),
    staleWhileRevalidateMs: windowMs(directives, 'stale-while-revalidate'),
    staleIfErrorMs: windowMs(directives, 'stale-if-error'),
    storability: storability({
      method: input.method,
      status: input.status,
      requestDirectives: input.requestDirectives,
      responseDirectives: directives,
      hasAuthorization: input.requestHeaders.authorization !== undefined,
      hasSetCookie: h['set-cookie'] !== undefined,
      storeSetCookie: input.storeSetCookie ?? false,
      contentLocationIsTarget: input.contentLocationIsTarget ?? false,
      partial: partial !== undefined,
      varyNames,
      freshness,
      hasValidator: etag !== undefined || lastModified !== undefined,
    }),
    invalidated: false,
    headBlock: undefined,
  };
}

/**
 * Whether a 304 to the edge's conditional request is about this stored response (RFC 9111 §4.3.4):
 * an entity-tag in the 304 must be the stored one (strong comparison for a strong tag, weak for a
 * weak one). A 304 without ETag is taken as answering the validators the edge sent.
 */
export function selectedBy304(stored: Pick<StoredResponse, 'etag'>, notModifiedHeaders: IncomingHttpHeaders): boolean {
  const etag = first(notModifiedHeaders.etag);
  if (etag === undefined) return true;
  if (stored.etag === undefined) return false;
  return etag.startsWith('W/') ? weakMatch(etag, stored.etag) : etag === stored.etag;
}

/**
 * Freshens a stored response with a 304 (RFC 9111 §4.3.4, §3.2): every field of the 304 replaces the
 * stored one, except hop-by-hop fields and KEPT_ON_UPDATE; the body stays; times and freshness are
 * those of the validation exchange.
 */
export function refreshStoredResponse(
  stored: StoredResponse,
  notModified: { headers: IncomingHttpHeaders; requestTime: number; responseTime: number },
  input: Pick<BuildInput, 'requestHeaders' | 'requestDirectives' | 'via' | 'negativeTtlMs' | 'storeSetCookie'>,
): StoredResponse {
  const merged = updatedSourceHeaders(stored, notModified.headers);
  return buildStoredResponse({
    primaryKey: stored.primaryKey,
    requestHeaders: input.requestHeaders,
    requestDirectives: input.requestDirectives,
    method: 'GET',
    status: stored.status,
    headers: merged,
    body: stored.body,
    partial: stored.partial,
    requestTime: notModified.requestTime,
    responseTime: notModified.responseTime,
    via: input.via,
    negativeTtlMs: input.negativeTtlMs,
    storeSetCookie: input.storeSetCookie ?? false,
  });
}

/**
 * The stored response's source fields updated with a newer response's (a 304, §4.3.4; a part of
 * the same representation, §3.4): each of its fields replaces the stored one, except hop-by-hop
 * fields and KEPT_ON_UPDATE (they describe the stored body or name it). Age is the newer exchange's.
 */
export function updatedSourceHeaders(stored: Pick<StoredResponse, 'hitHeaders' | 'sourceExtras'>, newer: IncomingHttpHeaders): IncomingHttpHeaders {
  const merged = sourceHeadersOf(stored);
  for (const [name, value] of Object.entries(newer)) {
    if (value === undefined || HOP_BY_HOP.has(name) || KEPT_ON_UPDATE.has(name)) continue;
    (merged as Record<string, string | string[]>)[name] = value;
  }
  if (newer.age === undefined) delete merged.age;
  return merged;
}

/**
 * The upstream's header fields as far as they matter to a §4.3.4 update: the stored list without
 * this edge's Via and Content-Length, plus the fields kept aside. (Age, Cache-Status and hop-by-hop
 * fields of the old exchange are not carried over by an update anyway.)
 */
export function sourceHeadersOf(stored: Pick<StoredResponse, 'hitHeaders' | 'sourceExtras'>): IncomingHttpHeaders {
  const headers: Record<string, string | string[]> = {};
  const add = (list: readonly string[], end: number) => {
    for (let i = 0; i < end; i += 2) {
      const name = list[i] as string;
      const value = list[i + 1] as string;
      const previous = headers[name];
      if (previous === undefined) headers[name] = value;
      else headers[name] = Array.isArray(previous) ? [...previous, value] : [previous, value];
    }
  };
  const list = stored.hitHeaders;
  // hitHeaders ends with this edge's Via, then Content-Length when the status has content.
  let end = list.length;
  if (list[end - 2] === 'content-length') end -= 2;
  if (list[end - 2] === 'via') end -= 2;
  add(list, end);
  if (stored.sourceExtras) add(stored.sourceExtras, stored.sourceExtras.length);
  return headers as IncomingHttpHeaders;
}

/** The stored fields without Content-Length: the base of 304 and 206 answers, which set their own. */
export function storedFields(stored: Pick<StoredResponse, 'hitHeaders'>): string[] {
  const list = stored.hitHeaders;
  return list[list.length - 2] === 'content-length' ? list.slice(0, -2) : list.slice();
}

/**
 * What a client's conditional request is compared with (RFC 9111 §4.3.2, RFC 9110 §13.1.3): the
 * ETag, and Last-Modified or, without one, the stored Date (or, without that, when the response
 * arrived), before which the representation was not modified.
 */
export function validatorsOf(stored: Pick<StoredResponse, 'etag' | 'lastModified' | 'hitHeaders' | 'responseTime'>): Validators {
  if (stored.lastModified !== undefined) return stored;
  return { etag: stored.etag, lastModified: flatGet(stored.hitHeaders, 'date') ?? new Date(stored.responseTime).toUTCString() };
}
