// May a shared cache store this response? (RFC 9111 §3, §3.5; RFC 9110 §15.1). Pure function.
import type { Directives } from './cache-control.ts';
import { HEURISTICALLY_CACHEABLE, type Freshness } from './freshness.ts';

export type NotStorableReason =
  | 'method'
  | 'status'
  | 'no-store'
  | 'private'
  | 'authorization'
  | 'set-cookie'
  | 'must-understand'
  | 'vary-star'
  | 'no-freshness';

export interface StorabilityInput {
  method: string;
  status: number;
  requestDirectives: Directives;
  /** Effective response directives (CDN-Cache-Control when present, else Cache-Control). */
  responseDirectives: Directives;
  hasAuthorization: boolean;
  hasSetCookie: boolean;
  /** STORE_SET_COOKIE: store responses that carry Set-Cookie (RFC 9111 §7.3 allows it; off by default). */
  storeSetCookie?: boolean;
  varyNames: readonly string[];
  freshness: Freshness;
  hasValidator: boolean;
  /** For a POST: its response's Content-Location names the request's own target (RFC 9110 §9.3.3). */
  contentLocationIsTarget?: boolean;
  /** A 206 whose single Content-Range and complete length were understood, kept as a partial entry (§3.3). */
  partial?: boolean;
}

export type Storability = { storable: true } | { storable: false; reason: NotStorableReason };

const STORABLE: Storability = { storable: true };

/**
 * Status codes whose caching requirements this cache implements, for `must-understand` (§5.2.2.3):
 * the final codes of RFC 9110 §15 that it stores, 206 as a partial entry (only a single-part 206
 * with a complete length is ever stored). Not 304 (an update, not a response to store) nor 305/306
 * (deprecated/unused).
 */
export const UNDERSTOOD_STATUS = new Set([
  200, 201, 202, 203, 204, 205, 206, 300, 301, 302, 303, 307, 308,
  400, 401, 402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 426,
  500, 501, 502, 503, 504, 505,
]);

export function storability(input: StorabilityInput): Storability {
  const res = input.responseDirectives;
  // RFC 9110 §9.3.3: a POST response with explicit freshness whose Content-Location is the target
  // URI may answer later GETs of it. No other method's response is stored.
  const cacheablePost = input.method === 'POST' && input.contentLocationIsTarget === true && input.freshness.explicit;
  if (input.method !== 'GET' && !cacheablePost) return { storable: false, reason: 'method' };
  // A 206 is stored only as a partial entry (§3.3: its Content-Range understood); 304 and 1xx are not responses to store.
  if (input.status < 200 || (input.status === 206 && input.partial !== true) || input.status === 304) return { storable: false, reason: 'status' };
  // §5.2.2.3: with must-understand, only a status whose caching is implemented may be stored, and
  // then the response's no-store (sent for caches that do not know must-understand) is ignored.
  const mustUnderstand = res.has('must-understand');
  if (mustUnderstand && !UNDERSTOOD_STATUS.has(input.status)) return { storable: false, reason: 'must-understand' };
  if (input.requestDirectives.has('no-store') || (res.has('no-store') && !mustUnderstand)) return { storable: false, reason: 'no-store' };
  // A shared cache must not store `private` (§5.2.2.7); field-qualified private is treated as whole.
  if (res.has('private')) return { storable: false, reason: 'private' };
  // §3.5: a response to an authenticated request is shareable only if it says so explicitly.
  if (input.hasAuthorization && !(res.has('public') || res.has('s-maxage') || res.has('must-revalidate'))) {
    return { storable: false, reason: 'authorization' };
  }
  // A Set-Cookie response is usually someone's session: not shared unless STORE_SET_COOKIE says so
  // (§7.3 allows storing it; most CDNs refuse by default).
  if (input.hasSetCookie && !input.storeSetCookie) return { storable: false, reason: 'set-cookie' };
  // `Vary: *` never matches a later request (§4.1), so storing it is pointless.
  if (input.varyNames.includes('*')) return { storable: false, reason: 'vary-star' };
  if (!(input.freshness.explicit || res.has('public') || HEURISTICALLY_CACHEABLE.has(input.status))) {
    return { storable: false, reason: 'status' };
  }
  // Allowed, but useless: stale on arrival with nothing to revalidate against or serve stale for.
  if (input.freshness.lifetimeMs === 0 && !input.hasValidator && !res.has('stale-while-revalidate') && !res.has('stale-if-error')) {
    return { storable: false, reason: 'no-freshness' };
  }
  return STORABLE;
}
