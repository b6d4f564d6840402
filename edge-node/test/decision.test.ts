// The request decision (src/decision.ts) as a table: request, stored entry and clock in, decision out.
import test from 'ava';
import { decide, staleIfError, usesCache, type DecisionEntry, type RequestFacts } from '../src/decision.ts';
import { requestDirectives } from '../src/http/cache-control.ts';

/** An entry stored at t=0 with no initial age, fresh for 60 s. */
const BASE: DecisionEntry = {
  correctedInitialAgeMs: 0,
  responseTime: 0,
  lifetimeMs: 60_000,
  invalidated: false,
  noCache: false,
  mustRevalidate: false,
  staleWhileRevalidateMs: 0,
  staleIfErrorMs: 0,
  partial: undefined,
};
const PARTIAL = { ranges: [{ start: 0, end: 9 }], completeLength: 100 } as unknown as DecisionEntry['partial'];

function request(method: string, cacheControl?: string, preconditions = false): RequestFacts {
  return { method, preconditions, directives: requestDirectives(cacheControl, undefined) };
}

const rows: Array<[name: string, req: RequestFacts, entry: Partial<DecisionEntry> | undefined, nowS: number, serveStale: boolean, expected: object]> = [
  ['POST passes', request('POST'), BASE, 1, true, { kind: 'pass', fwd: 'method', detail: undefined }],
  ['DELETE passes whatever is stored', request('DELETE'), undefined, 1, true, { kind: 'pass', fwd: 'method', detail: undefined }],
  ['If-Match passes as a precondition', request('GET', undefined, true), BASE, 1, true, { kind: 'pass', fwd: 'bypass', detail: 'precondition' }],
  ['nothing stored: miss', request('GET'), undefined, 1, true, { kind: 'miss' }],
  ['nothing stored, only-if-cached: unavailable', request('GET', 'only-if-cached'), undefined, 1, true, { kind: 'unavailable' }],
  ['fresh GET', request('GET'), {}, 30, true, { kind: 'fresh' }],
  ['fresh HEAD', request('HEAD'), {}, 30, true, { kind: 'fresh' }],
  ['age equal to the lifetime is stale', request('GET'), {}, 60, true, { kind: 'revalidate', fwd: 'stale' }],
  ['initial age counts', request('GET'), { correctedInitialAgeMs: 50_000 }, 10, true, { kind: 'revalidate', fwd: 'stale' }],
  ['a clock before the response time adds no age', request('GET'), { responseTime: 10_000, lifetimeMs: 1 }, 5, true, { kind: 'fresh' }],
  ['soft-purged (invalidated) is stale', request('GET'), { invalidated: true }, 1, true, { kind: 'revalidate', fwd: 'stale' }],
  ['no-cache response: revalidated even when fresh', request('GET'), { noCache: true }, 1, true, { kind: 'revalidate', fwd: 'stale' }],
  ['request no-cache', request('GET', 'no-cache'), {}, 1, true, { kind: 'revalidate', fwd: 'request' }],
  ['request max-age below the age', request('GET', 'max-age=10'), {}, 20, true, { kind: 'revalidate', fwd: 'request' }],
  ['request max-age above the age', request('GET', 'max-age=30'), {}, 20, true, { kind: 'fresh' }],
  ['malformed request max-age counts as 0', request('GET', 'max-age=abc'), {}, 1, true, { kind: 'revalidate', fwd: 'request' }],
  ['min-fresh more than remains', request('GET', 'min-fresh=50'), {}, 20, true, { kind: 'revalidate', fwd: 'request' }],
  ['min-fresh less than remains', request('GET', 'min-fresh=30'), {}, 20, true, { kind: 'fresh' }],
  ['max-stale without a value', request('GET', 'max-stale'), {}, 1000, true, { kind: 'serve-stale', detail: 'max-stale' }],
  ['max-stale within', request('GET', 'max-stale=30'), {}, 80, true, { kind: 'serve-stale', detail: 'max-stale' }],
  ['max-stale exceeded', request('GET', 'max-stale=10'), {}, 80, true, { kind: 'revalidate', fwd: 'stale' }],
  ['max-stale with SERVE_STALE=false', request('GET', 'max-stale'), {}, 80, false, { kind: 'revalidate', fwd: 'stale' }],
  ['max-stale and must-revalidate', request('GET', 'max-stale'), { mustRevalidate: true }, 80, true, { kind: 'revalidate', fwd: 'stale' }],
  ['max-stale and request no-cache: stale wins as the reason', request('GET', 'max-stale, no-cache'), {}, 80, true, { kind: 'revalidate', fwd: 'stale' }],
  ['stale-while-revalidate within', request('GET'), { staleWhileRevalidateMs: 30_000 }, 80, true, { kind: 'serve-stale', detail: 'stale-while-revalidate' }],
  ['stale-while-revalidate past', request('GET'), { staleWhileRevalidateMs: 30_000 }, 100, true, { kind: 'revalidate', fwd: 'stale' }],
  ['stale-while-revalidate, SERVE_STALE=false', request('GET'), { staleWhileRevalidateMs: 30_000 }, 80, false, { kind: 'revalidate', fwd: 'stale' }],
  ['stale-while-revalidate and only-if-cached', request('GET', 'only-if-cached'), { staleWhileRevalidateMs: 30_000 }, 80, true, { kind: 'unavailable' }],
  ['stale and only-if-cached', request('GET', 'only-if-cached'), {}, 80, true, { kind: 'unavailable' }],
  ['fresh and only-if-cached', request('GET', 'only-if-cached'), {}, 1, true, { kind: 'fresh' }],
  ['fresh partial entry', request('GET'), { partial: PARTIAL }, 1, true, { kind: 'fresh' }],
  ['stale partial entry is never served stale', request('GET', 'max-stale'), { partial: PARTIAL }, 80, true, { kind: 'revalidate', fwd: 'stale' }],
  ['partial entry, request no-cache', request('GET', 'no-cache'), { partial: PARTIAL }, 1, true, { kind: 'revalidate', fwd: 'request' }],
];

for (const [name, req, entry, nowS, serveStale, expected] of rows) {
  test(`decide: ${name}`, (t) => {
    t.deepEqual(decide(req, entry === undefined ? undefined : { ...BASE, ...entry }, nowS * 1000, serveStale), expected);
  });
}

test('usesCache: GET and HEAD without preconditions only', (t) => {
  t.true(usesCache(request('GET')));
  t.true(usesCache(request('HEAD')));
  t.false(usesCache(request('GET', undefined, true)));
  t.false(usesCache(request('POST')));
  t.false(usesCache(request('OPTIONS')));
});

const sieRows: Array<[name: string, cacheControl: string | undefined, entry: Partial<DecisionEntry>, nowS: number, serveStale: boolean, expected: boolean]> = [
  ['no stale-if-error anywhere, stale', undefined, {}, 61, true, false],
  ['no stale-if-error, just expired (staleness 0)', undefined, {}, 60, true, true],
  ['response stale-if-error within', undefined, { staleIfErrorMs: 30_000 }, 80, true, true],
  ['response stale-if-error past', undefined, { staleIfErrorMs: 30_000 }, 100, true, false],
  ['request stale-if-error within', 'stale-if-error=30', {}, 80, true, true],
  ['the larger of the two counts', 'stale-if-error=5', { staleIfErrorMs: 30_000 }, 80, true, true],
  ['SERVE_STALE=false', undefined, { staleIfErrorMs: 30_000 }, 80, false, false],
  ['must-revalidate', undefined, { staleIfErrorMs: 30_000, mustRevalidate: true }, 80, true, false],
  ['no-cache response', undefined, { staleIfErrorMs: 30_000, noCache: true }, 80, true, false],
];

for (const [name, cacheControl, entry, nowS, serveStale, expected] of sieRows) {
  test(`staleIfError: ${name}`, (t) => {
    t.is(staleIfError({ ...BASE, ...entry }, requestDirectives(cacheControl, undefined), nowS * 1000, serveStale), expected);
  });
}
