// What the edge does with a request, given what it has stored (RFC 9111 §4): a pure function of the
// request's method, preconditions and directives, the stored entry and the clock. The fast path and
// the full path both take it; what they do with the answer is theirs (fill.ts, respond.ts).
import { deltaSeconds, type Directives } from './http/cache-control.ts';
import { currentAge } from './http/freshness.ts';
import type { StoredResponse } from './stored-response.ts';

/** What the decision reads of a request. */
export interface RequestFacts {
  method: string;
  /** If-Match or If-Unmodified-Since: a precondition the cache does not evaluate (§4.3.2). */
  preconditions: boolean;
  directives: Directives;
}

/** What the decision reads of a stored entry. */
export type DecisionEntry = Pick<
  StoredResponse,
  'correctedInitialAgeMs' | 'responseTime' | 'lifetimeMs' | 'invalidated' | 'noCache' | 'mustRevalidate' | 'staleWhileRevalidateMs' | 'staleIfErrorMs' | 'partial'
>;

/**
 * - `pass`: forwarded without the cache (another method, or a precondition); never looked up.
 * - `fresh`: answered from the entry.
 * - `serve-stale`: answered from the stale entry (§4.2.4): the client allows it (`max-stale`), or
 *   within stale-while-revalidate (the caller refreshes it in the background).
 * - `revalidate`: upstream about the entry (a conditional request; for a partial entry, the range
 *   again); `fwd` says why (the entry is stale or no-cache, or the client's directives demand it).
 * - `unavailable`: only-if-cached and nothing usable (§5.2.1.7: 504, nothing sent upstream).
 * - `miss`: nothing stored.
 */
export type Decision =
  | { readonly kind: 'pass'; readonly fwd: 'method' | 'bypass'; readonly detail: string | undefined }
  | { readonly kind: 'fresh' }
  | { readonly kind: 'serve-stale'; readonly detail: 'max-stale' | 'stale-while-revalidate' }
  | { readonly kind: 'revalidate'; readonly fwd: 'stale' | 'request' }
  | { readonly kind: 'unavailable' }
  | { readonly kind: 'miss' };

// One object per answer: deciding allocates nothing (the fast path calls this on every hit).
const PASS_METHOD: Decision = { kind: 'pass', fwd: 'method', detail: undefined };
const PASS_PRECONDITION: Decision = { kind: 'pass', fwd: 'bypass', detail: 'precondition' };
const FRESH: Decision = { kind: 'fresh' };
const MAX_STALE: Decision = { kind: 'serve-stale', detail: 'max-stale' };
const WHILE_REVALIDATE: Decision = { kind: 'serve-stale', detail: 'stale-while-revalidate' };
const REVALIDATE_STALE: Decision = { kind: 'revalidate', fwd: 'stale' };
const REVALIDATE_REQUEST: Decision = { kind: 'revalidate', fwd: 'request' };
const UNAVAILABLE: Decision = { kind: 'unavailable' };
const MISS: Decision = { kind: 'miss' };

/** Whether the cache takes part in a request at all: when not, nothing is looked up (the policy counts lookups). */
export function usesCache(request: Pick<RequestFacts, 'method' | 'preconditions'>): boolean {
  return (request.method === 'GET' || request.method === 'HEAD') && !request.preconditions;
}

/** The decision for `request` given `entry` (undefined: nothing stored) at `now` (ms). `serveStale`: SERVE_STALE. */
export function decide(request: RequestFacts, entry: DecisionEntry | undefined, now: number, serveStale: boolean): Decision {
  if (request.method !== 'GET' && request.method !== 'HEAD') return PASS_METHOD;
  if (request.preconditions) return PASS_PRECONDITION;
  const directives = request.directives;
  if (entry === undefined) return directives.has('only-if-cached') ? UNAVAILABLE : MISS;
  const ageMs = currentAge(entry, now);
  const remainingMs = entry.lifetimeMs - ageMs;
  const stale = remainingMs <= 0 || entry.invalidated;
  const clientWantsValidation = demandsValidation(directives, ageMs, remainingMs);
  if (!stale && !entry.noCache && !clientWantsValidation) return FRESH;
  // Serving stale needs a stale entry, no must-revalidate/no-cache, and a client that did not ask
  // otherwise; SERVE_STALE=false acts as if every response carried must-revalidate. Partial entries
  // are never served stale.
  if (stale && serveStale && entry.partial === undefined && !entry.mustRevalidate && !entry.noCache && !clientWantsValidation) {
    const stalenessMs = Math.max(0, -remainingMs);
    const maxStale = directives.get('max-stale');
    if (maxStale !== undefined) {
      const limit = maxStale === true ? Infinity : deltaSeconds(directives, 'max-stale');
      if (limit !== undefined && !Number.isNaN(limit) && stalenessMs <= limit * 1000) return MAX_STALE;
    }
    if (entry.staleWhileRevalidateMs > 0 && stalenessMs <= entry.staleWhileRevalidateMs && !directives.has('only-if-cached')) return WHILE_REVALIDATE;
  }
  if (directives.has('only-if-cached')) return UNAVAILABLE;
  // A no-cache response counts as stale for every reuse; otherwise the client's directives forced this.
  return stale || entry.noCache ? REVALIDATE_STALE : REVALIDATE_REQUEST;
}

/** Request directives that demand more freshness than the entry has (§5.2.1: no-cache, max-age, min-fresh). */
function demandsValidation(directives: Directives, ageMs: number, remainingMs: number): boolean {
  if (directives.size === 0) return false;
  const maxAge = deltaSeconds(directives, 'max-age');
  const minFresh = deltaSeconds(directives, 'min-fresh');
  return (
    directives.has('no-cache') ||
    (maxAge !== undefined && !(ageMs <= (Number.isNaN(maxAge) ? 0 : maxAge * 1000))) ||
    (minFresh !== undefined && !(remainingMs >= (Number.isNaN(minFresh) ? 0 : minFresh * 1000)))
  );
}

/**
 * Whether a stale entry may stand in for a failed revalidation (a connection error or a 5xx):
 * stale-if-error (RFC 5861 §4) from the response or the request, whichever allows more.
 */
export function staleIfError(entry: DecisionEntry, directives: Directives, now: number, serveStale: boolean): boolean {
  if (!serveStale || entry.mustRevalidate || entry.noCache) return false;
  const stalenessMs = Math.max(0, currentAge(entry, now) - entry.lifetimeMs);
  const requestSie = deltaSeconds(directives, 'stale-if-error');
  const sieMs = Math.max(entry.staleIfErrorMs, requestSie === undefined || Number.isNaN(requestSie) ? 0 : requestSie * 1000);
  return stalenessMs <= sieMs;
}

