// Conditional GET on the origin side (RFC 9110 §13): does a GET/HEAD with validators get a 304?
// Only If-None-Match and If-Modified-Since matter here: the origin serves read-only objects, so
// If-Match, If-Unmodified-Since and If-Range never change its answer to a GET.

/** The validators of the selected representation. */
export interface Validators {
  /** Strong or weak entity tag, quoted, e.g. `"1-2a-1f40"` or `W/"x"`. */
  etag: string;
  /** Last modification time; HTTP dates have whole seconds. */
  lastModified: Date;
}

/** The opaque part of an entity tag (without `W/`), for weak comparison (RFC 9110 §8.8.3.2). */
function opaqueTag(tag: string): string {
  return tag.startsWith('W/') ? tag.slice(2) : tag;
}

/** Entity tags listed in an If-None-Match value; `*` is returned as itself. */
export function parseEntityTagList(value: string): string[] {
  // Opaque tags are quoted and contain no `"`, so matching them also handles commas inside quotes.
  const tags = value.match(/(?:W\/)?"[^"]*"|\*/g);
  return tags ?? [];
}

/**
 * If-None-Match (RFC 9110 §13.1.2): true when the condition is false, i.e. the client already has
 * this representation (`*` matches any current one). Uses weak comparison, as the RFC requires.
 */
export function noneMatchHits(headerValue: string, etag: string): boolean {
  const wanted = opaqueTag(etag);
  return parseEntityTagList(headerValue).some((tag) => tag === '*' || opaqueTag(tag) === wanted);
}

/**
 * If-Modified-Since (RFC 9110 §13.1.3): true when the representation was not modified after the
 * given date. An unparseable date is ignored (false), as the RFC requires.
 */
export function notModifiedSince(headerValue: string, lastModified: Date): boolean {
  const since = Date.parse(headerValue);
  if (Number.isNaN(since)) return false;
  return Math.floor(lastModified.getTime() / 1000) <= Math.floor(since / 1000);
}

/**
 * Whether a GET or HEAD for a representation with `validators` should be answered 304 Not
 * Modified. Precedence per RFC 9110 §13.2.2: when If-None-Match is present, If-Modified-Since is
 * ignored, whatever its value. Callers evaluate this only for would-be 2xx answers (§13.2.1).
 */
export function isNotModified(
  method: string,
  headers: { 'if-none-match'?: string | undefined; 'if-modified-since'?: string | undefined },
  validators: Validators,
): boolean {
  if (method !== 'GET' && method !== 'HEAD') return false;
  const noneMatch = headers['if-none-match'];
  if (noneMatch !== undefined) return noneMatchHits(noneMatch, validators.etag);
  const modifiedSince = headers['if-modified-since'];
  if (modifiedSince !== undefined) return notModifiedSince(modifiedSince, validators.lastModified);
  return false;
}
