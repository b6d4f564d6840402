// Request targets and cache keys (RFC 9110 §7.1, RFC 9112 §3.2, RFC 9111 §2 and §4.1). Pure functions.
import { EdgeError } from '../errors.ts';

/** Longest request target accepted; longer ones get 414. */
export const MAX_TARGET_LENGTH = 8192;

/** Visible ASCII except `#` (a fragment is never sent in a request target). */
const ORIGIN_FORM = /^\/[\x21-\x22\x24-\x7e]*$/;

/**
 * Turns the request target into origin-form (`/path?query`). Absolute-form is accepted only when it
 * names the host the request was sent to: this is a reverse proxy, not an open forward proxy.
 * Throws an EdgeError (4xx) for anything else.
 */
export function originFormTarget(target: string, host: string | undefined): string {
  if (target.length > MAX_TARGET_LENGTH) throw new EdgeError('uriTooLong', `request target longer than ${MAX_TARGET_LENGTH} bytes`);
  if (target.startsWith('/')) {
    if (!ORIGIN_FORM.test(target)) throw new EdgeError('badTarget', 'request target contains characters not allowed in origin-form');
    return target;
  }
  if (/^https?:\/\//i.test(target)) {
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      throw new EdgeError('badTarget', 'absolute-form request target is not a valid URL');
    }
    if (host === undefined || url.host.toLowerCase() !== host.toLowerCase()) {
      throw new EdgeError('foreignHost', `absolute-form target names host "${url.host}", not this server`);
    }
    return originFormTarget(`${url.pathname}${url.search}`, host);
  }
  if (target === '*') throw new EdgeError('badTarget', 'asterisk-form request target is not supported');
  throw new EdgeError('badTarget', 'request target must be origin-form ("/path") or absolute-form');
}

/**
 * The primary cache key (§2): the origin-form target. Host is not part of it because the edge fronts
 * one origin set whatever Host the client used, and sends the upstream's own host upstream.
 */
export function primaryKey(originForm: string): string {
  return originForm;
}

/** Header names listed in Vary, lowercased; `['*']` for `Vary: *`; empty when absent. */
export function parseVary(value: string | readonly string[] | undefined): string[] {
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : value.join(',');
  const names = text.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean);
  if (names.includes('*')) return ['*'];
  return [...new Set(names)].sort();
}

const ABSENT = '\u0001';

/** Normalises a request header value for Vary matching: list items joined by ", ", whitespace collapsed. */
export function normalizeVaryValue(value: string | readonly string[] | undefined): string {
  if (value === undefined) return ABSENT;
  const text = typeof value === 'string' ? value : value.join(',');
  return text.split(',').map((item) => item.trim().replace(/\s+/g, ' ')).join(', ');
}

const QVALUE = /^\s*q\s*=\s*(0(?:\.\d{0,3})?|1(?:\.0{0,3})?)\s*$/i;

/**
 * Accept-Language (RFC 9110 §12.5.4) in one form per meaning, so that equal preferences written
 * differently select the same variant: ranges lowercased (language tags are case-insensitive),
 * ordered by qvalue, highest first, and alphabetically among equal qvalues (ranges of equal weight
 * are equally acceptable, so their order is not kept), `q=1` left implicit. A value that does not
 * parse (a parameter other than a valid q) gets the generic normalisation.
 */
export function normalizeAcceptLanguage(value: string | readonly string[] | undefined): string {
  if (value === undefined) return ABSENT;
  const ranges = languageRanges(value);
  if (ranges === undefined) return normalizeVaryValue(value);
  ranges.sort((a, b) => b.q - a.q || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  return ranges.map(({ tag, q }) => (q === 1 ? tag : `${tag};q=${q}`)).join(', ');
}

/** Accept-Language's ranges, lowercased, with their qvalues; undefined when a parameter is not a valid q. */
function languageRanges(value: string | readonly string[]): { tag: string; q: number }[] | undefined {
  const text = typeof value === 'string' ? value : value.join(',');
  const ranges: { tag: string; q: number }[] = [];
  for (const item of text.split(',')) {
    const semicolon = item.indexOf(';');
    const tag = (semicolon === -1 ? item : item.slice(0, semicolon)).trim().toLowerCase();
    if (tag === '') continue;
    let q = 1;
    if (semicolon !== -1) {
      const match = QVALUE.exec(item.slice(semicolon + 1));
      if (!match) return undefined;
      q = Number(match[1]);
    }
    ranges.push({ tag, q });
  }
  return ranges;
}

/**
 * Whether a representation in `contentLanguage` is a best choice for a request's Accept-Language
 * (RFC 9110 §12.5.4): the qvalue of the most specific range matching its tag (RFC 4647 §3.3.1 basic
 * filtering; `*` matches anything, least specifically) is above 0 and the highest the request gives
 * any range, so no representation could be preferred to it. A list of languages never qualifies.
 */
export function isBestLanguage(acceptLanguage: string | readonly string[], contentLanguage: string | undefined): boolean {
  if (contentLanguage === undefined || contentLanguage.includes(',')) return false;
  const tag = contentLanguage.trim().toLowerCase();
  const ranges = languageRanges(acceptLanguage);
  if (tag === '' || ranges === undefined || ranges.length === 0) return false;
  let best = 0;
  let specificity = -1;
  let preference = 0;
  for (const range of ranges) {
    best = Math.max(best, range.q);
    const matches = range.tag === '*' || range.tag === tag || tag.startsWith(`${range.tag}-`);
    const length = range.tag === '*' ? 0 : range.tag.length;
    if (matches && length > specificity) {
      specificity = length;
      preference = range.q;
    }
  }
  return preference > 0 && preference === best;
}

/** A variant key without one selecting header's part (to compare the others). */
export function keyWithout(key: string, name: string): string {
  const start = key.indexOf(`\u0000${name}=`);
  if (start === -1) return key;
  const end = key.indexOf('\u0000', start + 1);
  return end === -1 ? key.slice(0, start) : key.slice(0, start) + key.slice(end);
}

/**
 * The secondary key (§4.1): the primary key plus the normalised values of the request headers the
 * stored response varies on. Without Vary the secondary key is the primary key.
 */
export function variantKey(primary: string, varyNames: readonly string[], headers: Record<string, string | string[] | undefined>): string {
  if (varyNames.length === 0) return primary;
  let key = primary;
  for (const name of varyNames) {
    const value = headers[name];
    key += `\u0000${name}=${name === 'accept-language' ? normalizeAcceptLanguage(value) : normalizeVaryValue(value)}`;
  }
  return key;
}
