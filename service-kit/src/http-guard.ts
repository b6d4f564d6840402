// What a proxy of the lab (edge, balancer) checks before forwarding a request: that its Host is a
// single valid field (RFC 9112 §3.2), and that its path is not one of the services' own routes
// (health, metrics, admin), which are for operators and Prometheus, never for clients.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * First path segments the services answer for themselves: `/metrics`, `/healthz`, and every
 * segment starting with `_` (`/_admin` on the origin, `/_edge` on edges, `/_lb` on the balancer).
 * The catalogue (`/obj`, `/short`, `/nostore`) and any client path are outside this set.
 */
const RESERVED_SEGMENTS = new Set(['metrics', 'healthz']);
/** Their lengths: most first segments differ in length from every reserved one, and need no more look. */
const RESERVED_LENGTHS = new Set([...RESERVED_SEGMENTS].map((segment) => segment.length));

/**
 * The same reserved paths as wildcard patterns (`*` any characters), for a front door that matches
 * paths literally (an AWS ALB listener rule): it stops these spellings, the services refuse the rest.
 */
export const RESERVED_PATH_PATTERNS: readonly string[] = ['/_*', ...[...RESERVED_SEGMENTS].flatMap((segment) => [`/${segment}`, `/${segment}/*`])];

/** Characters that make a path need normalising before its first segment can be read. */
const NEEDS_NORMALISING = /[%\\;.]/;

/**
 * The path as a lenient server behind might route it: query dropped, percent-decoding repeated
 * until stable (so `%256D` is `m`), `\` as `/`, `;params` dropped from every segment, empty and
 * `.` segments dropped, `..` resolved, each segment trimmed. Never throws.
 */
export function normalisePath(target: string): string {
  const query = target.indexOf('?');
  let path = query === -1 ? target : target.slice(0, query);
  for (let i = 0; i < 3 && path.includes('%'); i++) {
    const decoded = path.replace(/%([0-9A-Fa-f]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    if (decoded === path) break;
    path = decoded;
  }
  const segments: string[] = [];
  for (const raw of path.replace(/\\/g, '/').split('/')) {
    const semicolon = raw.indexOf(';');
    const segment = (semicolon === -1 ? raw : raw.slice(0, semicolon)).trim();
    if (segment === '' || segment === '.') continue;
    if (segment === '..') segments.pop();
    else segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/**
 * Whether an origin-form target names one of the services' own routes, in any spelling that
 * normalises to one: `/metrics`, `/metrics/`, `//metrics`, `/%6Detrics`, `/./metrics`,
 * `/METRICS`, `/metrics;x`, `/obj/../_admin/faults`. Plain paths cost a slice and a compare.
 */
export function isInternalPath(target: string): boolean {
  const query = target.indexOf('?');
  let path = query === -1 ? target : target.slice(0, query);
  if (NEEDS_NORMALISING.test(path)) path = normalisePath(path);
  let start = 0;
  while (path.charCodeAt(start) === 0x2f /* / */) start++;
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  if (path.charCodeAt(start) === 0x5f /* _ */) return true;
  return RESERVED_LENGTHS.has(end - start) && RESERVED_SEGMENTS.has(path.slice(start, end).toLowerCase());
}

/** `uri-host [ ":" port ]` (RFC 9110 §7.2): an IP literal, or reg-name characters; empty is allowed. */
const VALID_HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~!$&'()*+,;=%]*)(?::[0-9]{0,5})?$/;

/**
 * Why a request's Host is unacceptable (RFC 9112 §3.2: more than one Host field line, or an invalid
 * value, is answered 400), or undefined when it is fine. A missing Host is the caller's to judge
 * (HTTP/1.0 may omit it). Costs one pass over the raw header names.
 */
export function hostProblem(req: IncomingMessage): string | undefined {
  const raw = req.rawHeaders;
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && (name === 'Host' || name === 'host' || name.toLowerCase() === 'host')) count++;
  }
  if (count > 1) return `${count} Host header fields`;
  const host = req.headers.host;
  if (host === undefined || host === lastValidHost) return undefined;
  if (!VALID_HOST.test(host)) return 'Host header field is not a valid host[:port]';
  // Nearly every request names the same host: remembering the last valid one spares the regex.
  lastValidHost = host;
  return undefined;
}

let lastValidHost: string | undefined;

const sha256 = (text: string) => createHash('sha256').update(text).digest();

/**
 * A check of a presented secret against `secret`, in constant time: both sides are hashed first, so
 * they have the same length, as timingSafeEqual requires, and the comparison leaks nothing of it.
 */
export function secretCheck(secret: string): (given: string | undefined) => boolean {
  const expected = sha256(secret);
  return (given) => given !== undefined && timingSafeEqual(sha256(given), expected);
}

/** The token of an `Authorization: Bearer <token>` field, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(.+)$/i.exec(authorization ?? '');
  return match?.[1];
}
