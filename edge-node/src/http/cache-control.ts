// Cache-Control (RFC 9111 §5.2) and CDN-Cache-Control (RFC 9213) parsing. Pure functions.

/** Directive name (lowercased) -> argument, or `true` for a directive without one. */
export type Directives = ReadonlyMap<string, string | true>;

export const NO_DIRECTIVES: Directives = new Map();

/**
 * Parses one or more Cache-Control field values into directives. Names are case-insensitive;
 * quoted-string arguments are unquoted. A directive that appears twice keeps its first argument and
 * is remembered in `duplicates`, because §4.2.1 makes a duplicated freshness directive invalid.
 */
export function parseCacheControl(value: string | readonly string[] | undefined): Directives & { duplicates?: Set<string> } {
  if (value === undefined || value === '') return NO_DIRECTIVES;
  const text = typeof value === 'string' ? value : value.join(',');
  const directives = new Map<string, string | true>() as Map<string, string | true> & { duplicates?: Set<string> };
  for (const part of splitList(text)) {
    const eq = part.indexOf('=');
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase();
    if (name === '') continue;
    let argument: string | true = true;
    if (eq !== -1) {
      const raw = part.slice(eq + 1).trim();
      argument = raw.startsWith('"') && raw.endsWith('"') && raw.length >= 2 ? raw.slice(1, -1).replace(/\\(.)/g, '$1') : raw;
    }
    if (directives.has(name)) (directives.duplicates ??= new Set()).add(name);
    else directives.set(name, argument);
  }
  return directives;
}

/** Splits a comma-separated list, ignoring commas inside quoted strings. */
function splitList(text: string): string[] {
  const parts: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) quoted = !quoted;
    else if (c === 0x5c /* \ */ && quoted) i++;
    else if (c === 0x2c /* , */ && !quoted) {
      parts.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  parts.push(text.slice(start).trim());
  return parts.filter(Boolean);
}

/**
 * A delta-seconds argument (§1.2.2): undefined when the directive is absent, NaN when present but
 * malformed or duplicated (callers treat that as "stale"), otherwise the non-negative integer.
 * Values beyond 2^31 are capped there, as §1.2.2 asks.
 */
export function deltaSeconds(directives: Directives & { duplicates?: Set<string> }, name: string): number | undefined {
  const argument = directives.get(name);
  if (argument === undefined) return undefined;
  if (argument === true || !/^\d+$/.test(argument) || directives.duplicates?.has(name)) return Number.NaN;
  return Math.min(Number(argument), 2 ** 31);
}

/**
 * The directives this cache obeys for a response. RFC 9213 §2.2: a cache that recognises a targeted
 * field (CDN-Cache-Control) and finds it valid uses it and ignores Cache-Control entirely.
 */
export function effectiveResponseDirectives(cacheControl: string | readonly string[] | undefined, cdnCacheControl: string | readonly string[] | undefined): { directives: Directives; targeted: boolean } {
  if (cdnCacheControl !== undefined) {
    const targeted = parseCacheControl(cdnCacheControl);
    if (targeted.size > 0) return { directives: targeted, targeted: true };
  }
  return { directives: parseCacheControl(cacheControl), targeted: false };
}

/**
 * Request directives (§5.2.1). Pragma (§5.4, deprecated) is honoured only as `no-cache` and only
 * when the request carries no Cache-Control at all.
 */
export function requestDirectives(cacheControl: string | undefined, pragma: string | undefined): Directives {
  if (cacheControl !== undefined) return parseCacheControl(cacheControl);
  if (pragma !== undefined && /(^|,)\s*no-cache\s*(,|$)/i.test(pragma)) return new Map([['no-cache', true]]);
  return NO_DIRECTIVES;
}
