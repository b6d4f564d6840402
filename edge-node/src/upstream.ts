// Fetching from upstream (origins, a parent edge, or a peer): one keep-alive connection pool per
// upstream, a deadline for the whole exchange, round robin over several base URLs, an optional
// simulated network delay before each request, and exactly one metric sample per request sent.
// Passive health per base URL (nginx max_fails / fail_timeout, a circuit breaker): after
// UPSTREAM_MAX_FAILS consecutive exchanges without a response (refused, reset, timed out) a base is
// down for UPSTREAM_FAIL_TIMEOUT_MS and requests for it fail at once with reason `down` (the proxy
// then serves stale-if-error content or a 502 without waiting); after that time one request goes
// through as a probe (half-open): a response brings the base back, a failure keeps it down for
// another period. Any response counts as success: a 5xx is the origin answering.
import type { Logger } from '@cdn-lab/service-kit';
// The client is undici's dispatcher, not node:http's: a miss costs the edge a third of the CPU
// (loadtest/BENCH.md), and the miss path is mostly this exchange.
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
import type { EdgeMetrics, UpstreamKind } from './metrics.ts';
import { allocateBody, OWN_PAGES_MIN_BYTES } from './reclaim.ts';

export interface UpstreamRequest {
  method: string;
  /** Origin-form target, appended to the base URL's path. */
  path: string;
  headers: OutgoingHttpHeaders;
  body?: Buffer | undefined;
}

export interface UpstreamResponse {
  kind: UpstreamKind;
  method: string;
  status: number;
  /** As node:http would present them (duplicates joined or dropped the same way). */
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Clock readings (ms) when the request was sent and the response fully received (§4.2.3). */
  requestTime: number;
  responseTime: number;
}

/**
 * No usable response: `timeout` (deadline passed), `failed` (refused, reset, malformed) or `down`
 * (not sent: the upstream is marked down after consecutive failures).
 */
export type UpstreamErrorReason = 'timeout' | 'failed' | 'down';

export class UpstreamError extends Error {
  readonly reason: UpstreamErrorReason;
  readonly kind: UpstreamKind;
  constructor(reason: UpstreamErrorReason, kind: UpstreamKind, message: string) {
    super(message);
    this.name = 'UpstreamError';
    this.reason = reason;
    this.kind = kind;
  }
}

export interface UpstreamOptions {
  kind: UpstreamKind;
  urls: readonly string[];
  timeoutMs: number;
  /** Simulated round trip (UPSTREAM_DELAY_MS) waited before each request is sent; 0 = none. */
  delayMs?: number;
  metrics: EdgeMetrics;
  now: () => number;
  /** UPSTREAM_MAX_FAILS: consecutive failures that mark a base down; 0 (the default here) = never. */
  maxFails?: number;
  /** UPSTREAM_FAIL_TIMEOUT_MS: how long a base stays down before a probe request is let through. */
  failTimeoutMs?: number;
  /** Gets one line per health transition (down, probing, up). */
  logger?: Logger;
}

interface Base {
  /** `http://host:port`: undici keeps one connection pool per origin. */
  origin: string;
  /** `host[:port]` for the Host field. */
  host: string;
  /** Base path without a trailing slash, prefixed to every request path. */
  pathPrefix: string;
  /** Exchanges in a row that got no response. */
  failures: number;
  /** Marked down (until a probe gets a response). */
  down: boolean;
  /** While down: when (clock ms) the next probe may go. */
  retryAt: number;
  /** A probe request is in flight (half-open): others still fail fast. */
  probing: boolean;
}

function baseOf(raw: string): Base {
  const url = new URL(raw);
  return { origin: url.origin, host: url.host, pathPrefix: url.pathname.replace(/\/+$/, ''), failures: 0, down: false, retryAt: 0, probing: false };
}

export class Upstream {
  readonly kind: UpstreamKind;
  private readonly bases: Base[];
  private readonly timeoutMs: number;
  private readonly delayMs: number;
  private readonly metrics: EdgeMetrics;
  private readonly now: () => number;
  private readonly maxFails: number;
  private readonly failTimeoutMs: number;
  private readonly logger: Logger | undefined;
  /** Every base by its URL, so a peer chosen per request shares its health record. */
  private readonly byUrl = new Map<string, Base>();
  private next = 0;
  /**
   * Keep-alive pools, one per origin (so a peer chosen per request gets its own). The exchange's
   * deadline is the only timeout: undici's own header and body timers are off.
   */
  private readonly agent = new Agent({ headersTimeout: 0, bodyTimeout: 0 });

  constructor(options: UpstreamOptions) {
    if (options.urls.length === 0) throw new TypeError(`upstream "${options.kind}" needs at least one URL`);
    this.kind = options.kind;
    this.bases = options.urls.map(baseOf);
    this.timeoutMs = options.timeoutMs;
    this.delayMs = options.delayMs ?? 0;
    this.metrics = options.metrics;
    this.now = options.now;
    this.maxFails = options.maxFails ?? 0;
    this.failTimeoutMs = options.failTimeoutMs ?? 10_000;
    this.logger = options.logger;
    options.urls.forEach((url, i) => this.byUrl.set(url, this.bases[i] as Base));
    for (const base of this.bases) this.metrics.upstreamUp(this.kind, base.origin, true);
  }

  /**
   * Sends to the next base URL in round-robin order that is not down, or to `baseUrl` when given (a
   * chosen peer). Rejects at once with reason `down` when every candidate is down.
   */
  fetch(request: UpstreamRequest, baseUrl?: string): Promise<UpstreamResponse> {
    let base: Base | undefined;
    if (baseUrl !== undefined) {
      base = this.byUrl.get(baseUrl);
      if (base === undefined) this.byUrl.set(baseUrl, (base = baseOf(baseUrl)));
      if (!this.admits(base)) base = undefined;
    } else {
      const count = this.bases.length;
      for (let i = 0; i < count && base === undefined; i++) {
        const candidate = this.bases[this.next] as Base;
        this.next = (this.next + 1) % count;
        if (this.admits(candidate)) base = candidate;
      }
    }
    if (base === undefined) {
      return Promise.reject(new UpstreamError('down', this.kind, `${this.kind} is marked down after ${this.maxFails} consecutive failures`));
    }
    return this.exchange(base, request);
  }

  /** Whether a request may go to `base` now; a down base past its fail timeout admits one probe. */
  private admits(base: Base): boolean {
    if (!base.down) return true;
    if (base.probing || this.now() < base.retryAt) return false;
    base.probing = true;
    this.logger?.info({ upstream: this.kind, target: base.origin }, 'upstream probe: sending one request');
    return true;
  }

  /** Health bookkeeping after an exchange: `failed` when no response came back. */
  private observe(base: Base, failed: boolean, detail: string | undefined): void {
    if (this.maxFails === 0) return;
    const wasProbe = base.probing;
    base.probing = false;
    if (!failed) {
      base.failures = 0;
      if (base.down) {
        base.down = false;
        this.metrics.upstreamUp(this.kind, base.origin, true);
        this.logger?.info({ upstream: this.kind, target: base.origin }, 'upstream up: probe answered');
      }
      return;
    }
    base.failures++;
    if (base.down ? !wasProbe : base.failures < this.maxFails) return;
    base.down = true;
    base.retryAt = this.now() + this.failTimeoutMs;
    this.metrics.upstreamUp(this.kind, base.origin, false);
    this.logger?.warn(
      { upstream: this.kind, target: base.origin, failures: base.failures, downForMs: this.failTimeoutMs, err: detail },
      wasProbe ? 'upstream still down: probe failed' : 'upstream down',
    );
  }

  close(): void {
    void this.agent.destroy().catch(() => undefined);
  }

  /**
   * One exchange. The simulated delay sits inside it: the duration metric, the deadline and the
   * request time (hence the Age correction of §4.2.3) all count it, as they would a real round trip.
   */
  private exchange(base: Base, request: UpstreamRequest): Promise<UpstreamResponse> {
    const kind = this.kind;
    const started = performance.now();
    const requestTime = this.now();
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      let received = 0;
      let status = 502;
      let headers: IncomingHttpHeaders = {};
      const chunks: Buffer[] = [];
      let controller: Dispatcher.DispatchController | undefined;
      let delayTimer: NodeJS.Timeout | undefined;
      const settle = (error: UpstreamError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(delayTimer);
        this.metrics.upstreamExchange(kind, error ? undefined : status, (performance.now() - started) / 1000, received);
        this.observe(base, error !== undefined, error?.message);
        if (error) {
          reject(error);
          return;
        }
        resolve({ kind, method: request.method, status, headers, body: exactBody(chunks, received), requestTime, responseTime: this.now() });
      };
      const timer = setTimeout(() => {
        const error = new UpstreamError('timeout', kind, `${kind} did not answer within ${this.timeoutMs} ms`);
        settle(error);
        controller?.abort(error);
      }, this.timeoutMs);
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (settled) c.abort(new Error('exchange already settled'));
        },
        onResponseStart(_c, statusCode, responseHeaders) {
          status = statusCode;
          headers = nodeStyleHeaders(responseHeaders);
        },
        onResponseData(_c, chunk) {
          chunks.push(chunk);
          received += chunk.length;
        },
        onResponseEnd() {
          settle(undefined);
        },
        onResponseError(_c, cause) {
          // A 304 never has content, whatever Content-Length it repeats from the 200 (RFC 9110
          // §8.6, §15.4.5), but undici counts the missing bytes as a mismatch: the exchange is complete.
          if (status === 304 && (cause as { code?: unknown }).code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH') {
            settle(undefined);
            return;
          }
          settle(new UpstreamError('failed', kind, `${kind} request failed: ${cause.message}`));
        },
      };
      const send = () => {
        this.agent.dispatch(
          { origin: base.origin, path: base.pathPrefix + request.path, method: request.method as Dispatcher.HttpMethod, headers: requestHeaders(request, base.host), body: request.body ?? null },
          handler,
        );
      };
      if (this.delayMs > 0) delayTimer = setTimeout(send, this.delayMs);
      else send();
    });
  }
}

/** Request fields as undici takes them: a flat name/value list, Host set to the upstream's. */
function requestHeaders(request: UpstreamRequest, host: string): string[] {
  const flat: string[] = ['host', host];
  for (const name in request.headers) {
    const value = request.headers[name];
    // The edge reads request bodies whole and sends them with their length: no 100-continue upstream.
    if (value === undefined || name === 'host' || name === 'content-length' || name === 'expect') continue;
    if (Array.isArray(value)) for (const item of value) flat.push(name, item);
    else flat.push(name, String(value));
  }
  if (request.body !== undefined) flat.push('content-length', String(request.body.length));
  return flat;
}

/** Fields node:http keeps only the first of when repeated (`IncomingMessage#headers`). */
const FIRST_ONLY = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);

/**
 * undici's response fields (lower-case names, repeats as arrays) in node:http's shape, which the
 * rest of the edge reads: repeats joined with ", " (Cookie with "; "), Set-Cookie always a list, and
 * the singleton fields above keeping their first value.
 */
export function nodeStyleHeaders(fields: Record<string, string | string[] | undefined>): IncomingHttpHeaders {
  const out: IncomingHttpHeaders = {};
  for (const name in fields) {
    const value = fields[name];
    if (value === undefined) continue;
    if (name === 'set-cookie') out[name] = Array.isArray(value) ? value : [value];
    else if (!Array.isArray(value)) out[name] = value;
    else if (FIRST_ONLY.has(name)) out[name] = value[0];
    else out[name] = value.join(name === 'cookie' ? '; ' : ', ');
  }
  return out;
}

/**
 * The body as one Buffer that owns exactly its bytes (allocateBody: a large one in pages of its own,
 * which the cache gives back on eviction). A cached body lives for minutes, so it must not be a view
 * into something larger: a chunk is a slice of the socket's read buffer, and Buffer.concat of under
 * 4 KiB is a slice of Node's shared 8 KiB pool; either would keep the whole block alive.
 */
export function exactBody(chunks: readonly Buffer[], total: number): Buffer {
  if (chunks.length === 1 && total < OWN_PAGES_MIN_BYTES) {
    const only = chunks[0] as Buffer;
    if (only.byteOffset === 0 && only.buffer.byteLength === only.length) return only;
  }
  const body = allocateBody(total);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(body, offset);
  return body;
}
