// Client connection limits every service's server runs with: how long a client may take to send its
// headers and its whole request, how long an idle keep-alive connection stays open, and how many
// connections are accepted at once. Node's own defaults (60 s for headers, checked only every 30 s,
// so ~90 s; no connection cap) let slow or idle clients hold sockets for long; these are in the
// ranges nginx (client_header_timeout 60 s, keepalive_timeout 75 s) and Varnish (timeout_idle 5 s)
// use by default.
import type { Server } from 'node:http';
import { z } from 'zod';

export interface ConnectionLimits {
  /** Time to receive a request's complete header section (Node answers 408 and closes). */
  headersTimeoutMs: number;
  /** Time to receive the complete request, body included (408). Not less than headersTimeoutMs. */
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Connections beyond this many are closed as they arrive (keep it under the process's fd limit). */
  maxConnections: number;
}

/** Env var of each limit: the same names in every service (docs/contracts.md). */
export const CONNECTION_ENV = {
  headersTimeoutMs: 'HEADERS_TIMEOUT_MS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  keepAliveTimeoutMs: 'KEEP_ALIVE_TIMEOUT_MS',
  maxConnections: 'MAX_CONNECTIONS',
} as const satisfies Record<keyof ConnectionLimits, string>;

/** Defaults for a server that faces clients (edge, balancer). */
export const CLIENT_FACING_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxConnections: 4096,
};

const ms = () => z.coerce.number().int().min(100).max(3_600_000);

/** Zod fields for the four limits, with the given defaults; spread them into a service's config schema. */
export function connectionLimitFields(defaults: ConnectionLimits = CLIENT_FACING_LIMITS) {
  return {
    headersTimeoutMs: ms().default(defaults.headersTimeoutMs),
    requestTimeoutMs: ms().default(defaults.requestTimeoutMs),
    keepAliveTimeoutMs: ms().default(defaults.keepAliveTimeoutMs),
    maxConnections: z.coerce.number().int().min(1).max(1_000_000).default(defaults.maxConnections),
  };
}

/** For a config schema's superRefine: Node refuses a header timeout longer than the request timeout. */
export function connectionLimitIssues(limits: ConnectionLimits): { path: string[]; message: string }[] {
  return limits.headersTimeoutMs > limits.requestTimeoutMs
    ? [{ path: ['headersTimeoutMs'], message: `must be <= REQUEST_TIMEOUT_MS (${limits.requestTimeoutMs})` }]
    : [];
}

/**
 * How often Node looks for connections past their header or request timeout (its default is 30 s,
 * which would let a 10 s header timeout run to 40 s).
 */
export function connectionsCheckingIntervalMs(limits: ConnectionLimits): number {
  return Math.max(100, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4)));
}

/** Applies the limits to a server (before it listens; `connectionsCheckingIntervalMs` goes to createServer). */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits): void {
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.maxConnections = limits.maxConnections;
}
