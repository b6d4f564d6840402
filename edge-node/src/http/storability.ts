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
  varyNames: readonly string[];
  freshness: Freshness;
  hasValidator: boolean;
}

export type Storability = { storable: true } | { storable: false; reason: NotStorableReason };

const STORABLE: Storability = { storable: true };

export function storability(input: StorabilityInput): Storability {
  const res = input.responseDirectives;
  if (input.method !== 'GET') return { storable: false, reason: 'method' };
  // 206 needs partial-content storage (not implemented); 304 and 1xx are not complete responses.
  if (input.status < 200 || input.status === 206 || input.status === 304) return { storable: false, reason: 'status' };
  if (input.requestDirectives.has('no-store') || res.has('no-store')) return { storable: false, reason: 'no-store' };
  // A shared cache must not store `private` (§5.2.2.7); field-qualified private is treated as whole.
  if (res.has('private')) return { storable: false, reason: 'private' };
  // §3.5: a response to an authenticated request is shareable only if it says so explicitly.
  if (input.hasAuthorization && !(res.has('public') || res.has('s-maxage') || res.has('must-revalidate'))) {
    return { storable: false, reason: 'authorization' };
  }
  // A Set-Cookie response is someone's session: never shared (lab rule, as most CDNs do).
  if (input.hasSetCookie) return { storable: false, reason: 'set-cookie' };
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
