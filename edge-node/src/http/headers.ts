// Header plumbing for a proxy: hop-by-hop removal (RFC 9110 §7.6.1) and Via (§7.6.3). Pure functions.
import type { IncomingHttpHeaders } from 'node:http';
import { DRAINING_FIELD } from '@cdn-lab/service-kit';

/** Fields that describe one connection, never forwarded (RFC 9110 §7.6.1, plus legacy ones). */
export const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authenticate',
  'proxy-authorization',
  // A draining service's marker (service-kit DRAINING_FIELD): about this connection's server only.
  DRAINING_FIELD,
]);

/** The names a sender listed in Connection: they are hop-by-hop too. */
export function connectionTokens(connection: string | string[] | undefined): Set<string> {
  if (connection === undefined) return new Set();
  const text = typeof connection === 'string' ? connection : connection.join(',');
  return new Set(text.split(',').map((name) => name.trim().toLowerCase()).filter(Boolean));
}

/**
 * End-to-end fields of a message as a flat `[name, value, name, value…]` list (the form
 * `res.writeHead` takes), dropping hop-by-hop fields and any name in `drop`. Repeated fields stay repeated.
 */
export function endToEndHeaders(headers: IncomingHttpHeaders, drop: ReadonlySet<string>): string[] {
  const listed = connectionTokens(headers.connection);
  const flat: string[] = [];
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || listed.has(name) || drop.has(name)) continue;
    if (Array.isArray(value)) for (const item of value) flat.push(name, item);
    else flat.push(name, value);
  }
  return flat;
}

/** Appends a Via member (`1.1 <pseudonym>`), keeping what earlier intermediaries added. */
export function appendVia(existing: string | string[] | undefined, pseudonym: string): string {
  const own = `1.1 ${pseudonym}`;
  if (existing === undefined) return own;
  return `${typeof existing === 'string' ? existing : existing.join(', ')}, ${own}`;
}

/** Looks a field up in a flat header list (names are lowercase). */
export function flatGet(flat: readonly string[], name: string): string | undefined {
  for (let i = 0; i < flat.length; i += 2) if (flat[i] === name) return flat[i + 1];
  return undefined;
}

/** The HTTP status class used as a metric label (`2xx`…). */
export function statusClass(status: number): string {
  return `${Math.floor(status / 100)}xx`;
}

/** A request field's value as one string: the first of a repeated one (node:http gives Set-Cookie and unknown repeats as a list). */
export function first(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
