// Unit tests of the pure HTTP caching functions in src/http/.
import test from 'ava';
import { deltaSeconds, effectiveResponseDirectives, parseCacheControl, parseSurrogateControl, requestDirectives } from '../src/http/cache-control.ts';
import { isBestLanguage, keyWithout, normalizeAcceptLanguage, normalizeVaryValue, originFormTarget, parseVary, variantKey } from '../src/http/cache-key.ts';
import { cacheStatus, appendCacheStatus } from '../src/http/cache-status.ts';
import { notModified, parseEtagList, weakMatch } from '../src/http/conditional.ts';
import { ageSeconds, correctedInitialAge, currentAge, freshnessLifetime, parseAge } from '../src/http/freshness.ts';
import { appendVia, endToEndHeaders } from '../src/http/headers.ts';
import { decideRange } from '../src/http/range.ts';
import { storability, type StorabilityInput } from '../src/http/storability.ts';
import { EdgeError } from '../src/errors.ts';

test('parseCacheControl: names case-insensitive, arguments unquoted, commas inside quotes kept', (t) => {
  const d = parseCacheControl('Max-Age=60, no-cache="set-cookie, foo", PUBLIC');
  t.is(d.get('max-age'), '60');
  t.is(d.get('no-cache'), 'set-cookie, foo');
  t.is(d.get('public'), true);
  t.is(d.size, 3);
});

test('parseCacheControl: several field lines combine; empty items ignored', (t) => {
  const d = parseCacheControl(['max-age=5', ' , s-maxage=9,,']);
  t.deepEqual([...d.keys()], ['max-age', 's-maxage']);
});

test('deltaSeconds: absent, valid, malformed and duplicated (§1.2.2, §4.2.1)', (t) => {
  t.is(deltaSeconds(parseCacheControl('public'), 'max-age'), undefined);
  t.is(deltaSeconds(parseCacheControl('max-age=120'), 'max-age'), 120);
  t.true(Number.isNaN(deltaSeconds(parseCacheControl('max-age=abc'), 'max-age')));
  t.true(Number.isNaN(deltaSeconds(parseCacheControl('max-age'), 'max-age')));
  t.true(Number.isNaN(deltaSeconds(parseCacheControl('max-age=1, max-age=2'), 'max-age')));
  t.is(deltaSeconds(parseCacheControl('max-age=99999999999'), 'max-age'), 2 ** 31);
});

test('CDN-Cache-Control replaces Cache-Control when present and valid (RFC 9213 §2.2)', (t) => {
  const targeted = effectiveResponseDirectives('max-age=10', 'max-age=600');
  t.is(targeted.source, 'cdn-cache-control');
  t.is(targeted.directives.get('max-age'), '600');
  const fallback = effectiveResponseDirectives('max-age=10', '');
  t.is(fallback.source, 'cache-control');
  t.is(fallback.directives.get('max-age'), '10');
  t.true(effectiveResponseDirectives('max-age=10', 'no-store').directives.has('no-store'));
});

test('Pragma: no-cache counts only without Cache-Control (RFC 9111 §5.4)', (t) => {
  t.true(requestDirectives(undefined, 'no-cache').has('no-cache'));
  t.false(requestDirectives('max-age=5', 'no-cache').has('no-cache'));
  t.is(requestDirectives(undefined, undefined).size, 0);
});

const base = { status: 200, responseTime: Date.parse('2026-01-01T00:00:10Z') };

test('freshness lifetime: s-maxage > max-age > Expires - Date (§4.2.1)', (t) => {
  t.is(freshnessLifetime({ ...base, directives: parseCacheControl('max-age=60, s-maxage=300') }).lifetimeMs, 300_000);
  t.is(freshnessLifetime({ ...base, directives: parseCacheControl('max-age=60'), expires: 'Thu, 01 Jan 2026 01:00:00 GMT' }).lifetimeMs, 60_000);
  const viaExpires = freshnessLifetime({ ...base, directives: parseCacheControl(''), date: 'Thu, 01 Jan 2026 00:00:00 GMT', expires: 'Thu, 01 Jan 2026 00:02:00 GMT' });
  t.deepEqual(viaExpires, { lifetimeMs: 120_000, explicit: true });
});

test('freshness lifetime: invalid Expires or malformed max-age means stale', (t) => {
  t.is(freshnessLifetime({ ...base, directives: parseCacheControl(''), expires: '0' }).lifetimeMs, 0);
  t.is(freshnessLifetime({ ...base, directives: parseCacheControl('max-age=-1') }).lifetimeMs, 0);
});

test('freshness lifetime: heuristic 10% of Date - Last-Modified, only for heuristically cacheable codes (§4.2.2)', (t) => {
  const input = { directives: parseCacheControl(''), date: 'Thu, 01 Jan 2026 00:00:00 GMT', lastModified: 'Wed, 31 Dec 2025 23:00:00 GMT', responseTime: base.responseTime };
  t.deepEqual(freshnessLifetime({ ...input, status: 200 }), { lifetimeMs: 360_000, explicit: false });
  t.is(freshnessLifetime({ ...input, status: 302 }).lifetimeMs, 0);
});

test('negative caching gives 404/410 the configured lifetime only without explicit freshness', (t) => {
  t.is(freshnessLifetime({ ...base, status: 404, directives: parseCacheControl(''), negativeTtlMs: 10_000 }).lifetimeMs, 10_000);
  t.is(freshnessLifetime({ ...base, status: 410, directives: parseCacheControl('max-age=3'), negativeTtlMs: 10_000 }).lifetimeMs, 3000);
  t.is(freshnessLifetime({ ...base, status: 500, directives: parseCacheControl(''), negativeTtlMs: 10_000 }).lifetimeMs, 0);
});

test('age: corrected initial age takes the larger of apparent age and Age + delay (§4.2.3)', (t) => {
  const date = 'Thu, 01 Jan 2026 00:00:00 GMT';
  const t0 = Date.parse(date);
  t.is(correctedInitialAge({ date, requestTime: t0 + 4000, responseTime: t0 + 5000 }), 5000);
  t.is(correctedInitialAge({ date, age: '30', requestTime: t0 + 4000, responseTime: t0 + 5000 }), 31_000);
  t.is(correctedInitialAge({ age: 'junk', requestTime: t0, responseTime: t0 + 200 }), 200);
  t.is(currentAge({ correctedInitialAgeMs: 31_000, responseTime: t0 + 5000 }, t0 + 15_000), 41_000);
  t.is(ageSeconds(41_999), 41);
  t.is(ageSeconds(-5), 0);
});

test('originFormTarget: origin-form passes, absolute-form only for this host, the rest is a 4xx', (t) => {
  t.is(originFormTarget('/obj/1?x=2', 'edge'), '/obj/1?x=2');
  t.is(originFormTarget('http://edge:8080/obj/1?q', 'edge:8080'), '/obj/1?q');
  const foreign = t.throws(() => originFormTarget('http://other/obj', 'edge'), { instanceOf: EdgeError });
  t.is(foreign.status, 400);
  t.is(t.throws(() => originFormTarget('obj', 'edge'), { instanceOf: EdgeError }).status, 400);
  t.is(t.throws(() => originFormTarget('*', 'edge'), { instanceOf: EdgeError }).status, 400);
  t.is(t.throws(() => originFormTarget('/a#frag', 'edge'), { instanceOf: EdgeError }).status, 400);
  t.is(t.throws(() => originFormTarget(`/${'a'.repeat(9000)}`, 'edge'), { instanceOf: EdgeError }).status, 414);
});

test('Vary: names sorted and lowercased, * wins; variant keys differ by the varied values (§4.1)', (t) => {
  t.deepEqual(parseVary('Accept-Encoding, accept'), ['accept', 'accept-encoding']);
  t.deepEqual(parseVary('accept, *'), ['*']);
  t.deepEqual(parseVary(undefined), []);
  t.is(variantKey('/a', [], { 'accept-encoding': 'gzip' }), '/a');
  const gzip = variantKey('/a', ['accept-encoding'], { 'accept-encoding': 'gzip,  br' });
  t.is(gzip, variantKey('/a', ['accept-encoding'], { 'accept-encoding': 'gzip, br' }));
  t.not(gzip, variantKey('/a', ['accept-encoding'], { 'accept-encoding': 'identity' }));
  t.not(variantKey('/a', ['accept'], {}), variantKey('/a', ['accept'], { accept: '' }));
  t.is(normalizeVaryValue(['a', 'b ,c']), 'a, b, c');
});

const storable: StorabilityInput = {
  method: 'GET',
  status: 200,
  requestDirectives: new Map(),
  responseDirectives: parseCacheControl('max-age=60'),
  hasAuthorization: false,
  hasSetCookie: false,
  varyNames: [],
  freshness: { lifetimeMs: 60_000, explicit: true },
  hasValidator: false,
};

test('storability: a plain fresh 200 to GET is storable (§3)', (t) => {
  t.deepEqual(storability(storable), { storable: true });
});

test('storability: each reason to refuse', (t) => {
  const reason = (patch: Partial<StorabilityInput>) => {
    const result = storability({ ...storable, ...patch });
    return result.storable ? 'storable' : result.reason;
  };
  t.is(reason({ method: 'POST' }), 'method');
  t.is(reason({ status: 206 }), 'status');
  t.is(reason({ responseDirectives: parseCacheControl('no-store, max-age=60') }), 'no-store');
  t.is(reason({ requestDirectives: parseCacheControl('no-store') }), 'no-store');
  t.is(reason({ responseDirectives: parseCacheControl('private, max-age=60') }), 'private');
  t.is(reason({ hasAuthorization: true }), 'authorization');
  t.is(reason({ hasAuthorization: true, responseDirectives: parseCacheControl('public, max-age=60') }), 'storable');
  t.is(reason({ hasSetCookie: true }), 'set-cookie');
  t.is(reason({ hasSetCookie: true, storeSetCookie: true }), 'storable');
  t.is(reason({ status: 599, responseDirectives: parseCacheControl('max-age=60, must-understand') }), 'must-understand');
  t.is(reason({ responseDirectives: parseCacheControl('max-age=60, no-store, must-understand') }), 'storable');
  t.is(reason({ requestDirectives: parseCacheControl('no-store'), responseDirectives: parseCacheControl('max-age=60, must-understand') }), 'no-store');
  t.is(reason({ method: 'POST', contentLocationIsTarget: true }), 'storable');
  t.is(reason({ method: 'POST', contentLocationIsTarget: true, freshness: { lifetimeMs: 0, explicit: false } }), 'method');
  t.is(reason({ varyNames: ['*'] }), 'vary-star');
  t.is(reason({ status: 302, responseDirectives: new Map(), freshness: { lifetimeMs: 0, explicit: false } }), 'status');
  t.is(reason({ responseDirectives: new Map(), freshness: { lifetimeMs: 0, explicit: false } }), 'no-freshness');
  t.is(reason({ responseDirectives: new Map(), freshness: { lifetimeMs: 0, explicit: false }, hasValidator: true }), 'storable');
});

test('Cache-Status members (RFC 9211)', (t) => {
  t.is(cacheStatus({ hit: true, ttl: 123 }), 'cdn-lab; hit; ttl=123');
  t.is(cacheStatus({ fwd: 'uri-miss', stored: true }), 'cdn-lab; fwd=uri-miss; stored');
  t.is(cacheStatus({ fwd: 'stale', fwdStatus: 304, collapsed: true }), 'cdn-lab; fwd=stale; fwd-status=304; collapsed');
  t.is(appendCacheStatus('parent; hit', 'cdn-lab; fwd=uri-miss'), 'parent; hit, cdn-lab; fwd=uri-miss');
});

test('conditional: If-None-Match uses weak comparison and beats If-Modified-Since (RFC 9110 §13.2.2)', (t) => {
  t.deepEqual(parseEtagList('W/"a", "b" ,*'), ['W/"a"', '"b"', '*']);
  t.true(weakMatch('W/"a"', '"a"'));
  const stored = { etag: '"v1"', lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT' };
  t.true(notModified({ ifNoneMatch: 'W/"v1"' }, stored));
  t.false(notModified({ ifNoneMatch: '"v2"', ifModifiedSince: 'Fri, 02 Jan 2026 00:00:00 GMT' }, stored));
  t.true(notModified({ ifModifiedSince: 'Fri, 02 Jan 2026 00:00:00 GMT' }, stored));
  t.false(notModified({ ifModifiedSince: 'Wed, 31 Dec 2025 00:00:00 GMT' }, stored));
});

test('range: single ranges, suffix, unsatisfiable, multi falls back to full (RFC 9110 §14)', (t) => {
  t.deepEqual(decideRange('bytes=0-9', 100), { kind: 'partial', start: 0, end: 9 });
  t.deepEqual(decideRange('bytes=90-', 100), { kind: 'partial', start: 90, end: 99 });
  t.deepEqual(decideRange('bytes=-5', 100), { kind: 'partial', start: 95, end: 99 });
  t.deepEqual(decideRange('bytes=50-500', 100), { kind: 'partial', start: 50, end: 99 });
  t.deepEqual(decideRange('bytes=100-', 100), { kind: 'unsatisfiable' });
  t.deepEqual(decideRange('bytes=0-1,5-6', 100), { kind: 'full' });
  t.deepEqual(decideRange('items=0-1', 100), { kind: 'full' });
  t.deepEqual(decideRange('bytes=0-9', 100, { value: '"old"', etag: '"new"', lastModified: undefined }), { kind: 'full' });
  t.deepEqual(decideRange('bytes=0-9', 100, { value: '"new"', etag: '"new"', lastModified: undefined }), { kind: 'partial', start: 0, end: 9 });
});

test('hop-by-hop fields, including those listed in Connection, are dropped; Via is appended', (t) => {
  const flat = endToEndHeaders({ connection: 'close, x-secret', 'x-secret': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked', 'content-type': 'text/plain', 'set-cookie': ['a=1', 'b=2'] }, new Set());
  t.deepEqual(flat, ['content-type', 'text/plain', 'set-cookie', 'a=1', 'set-cookie', 'b=2']);
  t.is(appendVia(undefined, 'edge-0'), '1.1 edge-0');
  t.is(appendVia('1.1 parent', 'edge-0'), '1.1 parent, 1.1 edge-0');
});

test('Surrogate-Control: targeted directives override untargeted, others are ignored, names case-insensitive', (t) => {
  const d = parseSurrogateControl('MAX-AGE=5, max-age=300;cdn-lab, no-store;other, content="ESI/1.0;x", X-Ext=1, stale-if-error=60');
  t.deepEqual([...d], [['max-age', '300'], ['stale-if-error', '60']]);
  t.is(parseSurrogateControl('max-age=60+30').get('max-age'), '60');
  t.true(parseSurrogateControl('no-store-remote').has('no-store'));
  t.true(Number.isNaN(deltaSeconds(parseSurrogateControl('max-age=1, max-age=2'), 'max-age')), 'a duplicate is invalid, as in Cache-Control');
  t.is(deltaSeconds(parseSurrogateControl('max-age=1, max-age=2, max-age=9;cdn-lab'), 'max-age'), 9, 'a targeted value replaces a duplicated one');
  t.is(effectiveResponseDirectives('max-age=600', undefined, 'max-age=60').source, 'surrogate-control');
  t.is(effectiveResponseDirectives('max-age=600', 'max-age=5', 'max-age=60').source, 'cdn-cache-control');
  t.is(effectiveResponseDirectives('max-age=600', undefined, 'content="ESI/1.0"').source, 'cache-control');
});

test('Age (RFC 9111 §5.1, §1.2.2): first list member, invalid ignored, parameters dropped, capped at 2^31', (t) => {
  t.is(parseAge(undefined), undefined);
  t.is(parseAge(' 60 '), 60);
  for (const invalid of ['abc', '-1', '1.5', '', ', 5']) t.is(parseAge(invalid), undefined, invalid);
  t.is(parseAge('7200, 0'), 7200);
  t.is(parseAge('0, 7200'), 0);
  t.is(parseAge('60;foo=bar'), 60);
  t.is(parseAge('99999999999'), 2 ** 31);
});

test('Accept-Language: one form per meaning; best-language choice by the most specific range (RFC 9110 §12.5.4)', (t) => {
  t.is(normalizeAcceptLanguage(' De ;q=0.50, en ,FR'), 'en, fr, de;q=0.5');
  t.is(normalizeAcceptLanguage('en;level=1'), 'en;level=1', 'an unknown parameter keeps the generic form');
  t.is(variantKey('/p', ['accept-language'], { 'accept-language': 'fr, en' }), variantKey('/p', ['accept-language'], { 'accept-language': 'EN,fr' }));
  t.true(isBestLanguage('fr;q=0.5, de', 'de'));
  t.true(isBestLanguage('de', 'de-CH'));
  t.false(isBestLanguage('de-CH, de;q=0.5', 'de'), 'de-CH does not match de');
  t.false(isBestLanguage('de;q=0, *', 'de'));
  t.true(isBestLanguage('*', 'de'));
  t.false(isBestLanguage('de, en', 'de, en'), 'a list of languages never qualifies');
  t.false(isBestLanguage('de', undefined));
  t.is(keyWithout('/p\u0000accept-encoding=gzip\u0000accept-language=de', 'accept-language'), '/p\u0000accept-encoding=gzip');
  t.is(keyWithout('/p\u0000accept-language=de\u0000x=1', 'accept-language'), '/p\u0000x=1');
});
