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

/** This edge's device token in targeted Surrogate-Control directives (`max-age=60;cdn-lab`). */
export const SURROGATE_TOKEN = 'cdn-lab';

/**
 * The Surrogate-Control directives this cache acts on, and the Cache-Control directive each stands
 * for. `no-store-remote` is addressed to surrogates away from the origin, which a CDN edge is.
 * Anything else (`content`, unknown extensions) is ignored.
 */
const SURROGATE_DIRECTIVES = new Map([
  ['max-age', 'max-age'],
  ['no-store', 'no-store'],
  ['no-store-remote', 'no-store'],
  ['stale-while-revalidate', 'stale-while-revalidate'],
  ['stale-if-error', 'stale-if-error'],
]);

/**
 * Surrogate-Control (W3C Edge Architecture 1.0 §3, as Fastly and Squid read it) for this edge:
 * directives without a target, overridden by those targeted at SURROGATE_TOKEN; directives targeted
 * at other devices are left out. Names are case-insensitive. `max-age=60+30` keeps its first value
 * (the `+N` extension is not implemented). Returns the directives under their Cache-Control names.
 */
export function parseSurrogateControl(value: string | readonly string[] | undefined): Directives & { duplicates?: Set<string> } {
  if (value === undefined || value === '') return NO_DIRECTIVES;
  const untargeted = new Map<string, string | true>() as Map<string, string | true> & { duplicates?: Set<string> };
  const ours = new Map<string, string | true>() as Map<string, string | true> & { duplicates?: Set<string> };
  for (const part of splitList(typeof value === 'string' ? value : value.join(','))) {
    const semicolon = lastUnquoted(part, 0x3b /* ; */);
    const target = semicolon === -1 ? undefined : part.slice(semicolon + 1).trim().toLowerCase();
    if (target !== undefined && target !== SURROGATE_TOKEN) continue;
    const directive = parseCacheControl(semicolon === -1 ? part : part.slice(0, semicolon));
    const into = target === undefined ? untargeted : ours;
    for (const [name, argument] of directive) {
      const as = SURROGATE_DIRECTIVES.get(name);
      if (as === undefined) continue;
      const plain = typeof argument === 'string' && as === 'max-age' ? argument.replace(/\+\d+$/, '') : argument;
      if (into.has(as)) (into.duplicates ??= new Set()).add(as);
      else into.set(as, plain);
    }
  }
  if (ours.size === 0) return untargeted;
  for (const [name, argument] of ours) {
    untargeted.set(name, argument);
    if (ours.duplicates?.has(name)) (untargeted.duplicates ??= new Set()).add(name);
    else untargeted.duplicates?.delete(name);
  }
  return untargeted;
}

/** Index of the last `code` outside a quoted string, or -1. */
function lastUnquoted(text: string, code: number): number {
  let found = -1;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) quoted = !quoted;
    else if (c === 0x5c /* \ */ && quoted) i++;
    else if (c === code && !quoted) found = i;
  }
  return found;
}

/** Which field the directives this cache obeys came from. */
export type DirectiveSource = 'cdn-cache-control' | 'surrogate-control' | 'cache-control';

/**
 * The directives this cache obeys for a response, from the most specific field it recognises:
 * CDN-Cache-Control (RFC 9213 §2.2: when valid it is used and Cache-Control ignored), then
 * Surrogate-Control when it has a directive for this edge (likewise replacing Cache-Control, as
 * CDNs treat it), then Cache-Control.
 */
export function effectiveResponseDirectives(
  cacheControl: string | readonly string[] | undefined,
  cdnCacheControl: string | readonly string[] | undefined,
  surrogateControl?: string | readonly string[] | undefined,
): { directives: Directives; source: DirectiveSource } {
  if (cdnCacheControl !== undefined) {
    const targeted = parseCacheControl(cdnCacheControl);
    if (targeted.size > 0) return { directives: targeted, source: 'cdn-cache-control' };
  }
  if (surrogateControl !== undefined) {
    const surrogate = parseSurrogateControl(surrogateControl);
    if (surrogate.size > 0) return { directives: surrogate, source: 'surrogate-control' };
  }
  return { directives: parseCacheControl(cacheControl), source: 'cache-control' };
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
