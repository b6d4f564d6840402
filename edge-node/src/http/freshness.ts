// Freshness and age (RFC 9111 §4.2). Pure functions over milliseconds; `now` is always passed in.
import { deltaSeconds, type Directives } from './cache-control.ts';

/** Status codes a cache may give heuristic freshness (RFC 9110 §15.1 "heuristically cacheable"). */
export const HEURISTICALLY_CACHEABLE = new Set([200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501]);

/** Heuristic freshness (§4.2.2) is 10% of the time since Last-Modified, capped at one day. */
const HEURISTIC_FRACTION = 0.1;
const HEURISTIC_CAP_MS = 86_400_000;

/** Parses an HTTP-date (RFC 9110 §5.6.7); undefined when absent or invalid. */
export function parseHttpDate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

export interface FreshnessInput {
  status: number;
  /** Effective response directives (CDN-Cache-Control when present, else Cache-Control). */
  directives: Directives;
  expires?: string | undefined;
  date?: string | undefined;
  lastModified?: string | undefined;
  /** When the response arrived (used when Date is missing). */
  responseTime: number;
  /** Lifetime given to 404/410 responses that carry no explicit freshness (negative caching). */
  negativeTtlMs?: number;
}

export interface Freshness {
  lifetimeMs: number;
  /** Whether the lifetime came from s-maxage, max-age or Expires (rather than a heuristic). */
  explicit: boolean;
}

/**
 * Freshness lifetime for a shared cache (§4.2.1): s-maxage, then max-age, then Expires minus Date,
 * then a heuristic. A malformed or duplicated directive, or an invalid Expires, means "already stale".
 */
export function freshnessLifetime(input: FreshnessInput): Freshness {
  const { directives } = input;
  for (const name of ['s-maxage', 'max-age']) {
    const seconds = deltaSeconds(directives, name);
    if (seconds !== undefined) return { lifetimeMs: Number.isNaN(seconds) ? 0 : seconds * 1000, explicit: true };
  }
  if (input.expires !== undefined) {
    const expires = parseHttpDate(input.expires);
    if (expires === undefined) return { lifetimeMs: 0, explicit: true };
    const date = parseHttpDate(input.date) ?? input.responseTime;
    return { lifetimeMs: Math.max(0, expires - date), explicit: true };
  }
  // §4.2.2: heuristics only for heuristically cacheable codes (RFC 9110 §15.1) or responses marked public.
  if (!HEURISTICALLY_CACHEABLE.has(input.status) && !directives.has('public')) return { lifetimeMs: 0, explicit: false };
  const lastModified = parseHttpDate(input.lastModified);
  if (lastModified !== undefined) {
    const date = parseHttpDate(input.date) ?? input.responseTime;
    return { lifetimeMs: Math.min(HEURISTIC_CAP_MS, Math.max(0, (date - lastModified) * HEURISTIC_FRACTION)), explicit: false };
  }
  if ((input.status === 404 || input.status === 410) && input.negativeTtlMs) {
    return { lifetimeMs: input.negativeTtlMs, explicit: false };
  }
  return { lifetimeMs: 0, explicit: false };
}

/** Largest Age kept (§1.2.2: a delta-seconds beyond 2^31 is taken as 2^31). */
const AGE_CAP_S = 2 ** 31;
const DIGITS = /^\d+$/;

/**
 * The Age field value in seconds (RFC 9111 §5.1), undefined when absent or ignored. A list (a
 * repeated field arrives joined, or `7200, 0` on one line) counts by its first member, as §5.1 says;
 * a member that is not a non-negative integer (`abc`, `-1`, `1.5`) makes the field ignored (§5.1:
 * SHOULD ignore). A parameter (`7200;foo=bar`) is dropped and the integer kept: the RFC leaves this
 * open, and reading the response as older is the safe side.
 */
export function parseAge(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  let member = value;
  const comma = member.indexOf(',');
  if (comma !== -1) member = member.slice(0, comma);
  const semicolon = member.indexOf(';');
  if (semicolon !== -1) member = member.slice(0, semicolon);
  member = member.trim();
  if (!DIGITS.test(member)) return undefined;
  return Math.min(Number(member), AGE_CAP_S);
}

/**
 * The age a response already had when it arrived (§4.2.3 `corrected_initial_age`), in ms:
 * the larger of the apparent age (response_time - Date) and the upstream Age plus the round trip.
 */
export function correctedInitialAge(input: { date?: string | undefined; age?: string | undefined; requestTime: number; responseTime: number }): number {
  const date = parseHttpDate(input.date);
  const apparentAge = date === undefined ? 0 : Math.max(0, input.responseTime - date);
  const ageValue = (parseAge(input.age) ?? 0) * 1000;
  const responseDelay = Math.max(0, input.responseTime - input.requestTime);
  return Math.max(apparentAge, ageValue + responseDelay);
}

/** `current_age` (§4.2.3) in ms: the corrected initial age plus the time spent in this cache. */
export function currentAge(stored: { correctedInitialAgeMs: number; responseTime: number }, now: number): number {
  return stored.correctedInitialAgeMs + Math.max(0, now - stored.responseTime);
}

/** The Age header value (§5.1): whole seconds, never negative. */
export function ageSeconds(ageMs: number): number {
  return Math.max(0, Math.floor(ageMs / 1000));
}
