// Answering a client's conditional GET/HEAD from a stored response (RFC 9110 §13.1, §13.2.2;
// RFC 9111 §4.3.2). Pure functions.
import { parseHttpDate } from './freshness.ts';

/** Splits an If-None-Match / If-Match list into entity-tags (or `*`). */
export function parseEtagList(value: string): string[] {
  return value.match(/\*|(?:W\/)?"[^"]*"/g) ?? [];
}

/** Weak comparison (RFC 9110 §8.8.3.2): opaque tags equal, ignoring the W/ prefix. */
export function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** Strong comparison: both strong and identical. */
export function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && a === b;
}

export interface Validators {
  etag?: string | undefined;
  lastModified?: string | undefined;
}

/**
 * Whether a GET/HEAD should be answered 304 Not Modified (RFC 9110 §13.2.2 steps 3-4):
 * If-None-Match takes precedence; If-Modified-Since is used only without it.
 */
export function notModified(request: { ifNoneMatch?: string | undefined; ifModifiedSince?: string | undefined }, stored: Validators): boolean {
  if (request.ifNoneMatch !== undefined) {
    if (stored.etag === undefined) return false;
    return parseEtagList(request.ifNoneMatch).some((tag) => tag === '*' || weakMatch(tag, stored.etag as string));
  }
  if (request.ifModifiedSince !== undefined) {
    const since = parseHttpDate(request.ifModifiedSince);
    const modified = parseHttpDate(stored.lastModified);
    return since !== undefined && modified !== undefined && modified <= since;
  }
  return false;
}

/** Fields a 304 must carry if the 200 would have (RFC 9110 §15.4.5). */
export const NOT_MODIFIED_FIELDS = new Set(['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary', 'last-modified', 'cdn-cache-control', 'via']);
