// Fetching from upstream (origins, a parent edge, or a peer): one keep-alive connection pool per
// upstream, a deadline to the response head and then between body reads, round robin over several
// base URLs, an optional simulated network delay before each request, exactly one metric sample per
// request sent, and bodies streamed both ways.
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
import type { Readable } from 'node:stream';
import { performance } from 'node:perf_hooks';
import { Agent, type Dispatcher } from 'undici';
import type { EdgeMetrics, UpstreamKind } from './metrics.ts';
import { allocateBody, OWN_PAGES_MIN_BYTES } from './reclaim.ts';

export interface UpstreamRequest {
  method: string;
  /** Origin-form target, appended to the base URL's path. */
  path: string;
  headers: OutgoingHttpHeaders;
  /** A whole body, or one streamed from the client (`bodyLength` its Content-Length, else chunked). */
  body?: Buffer | Readable | undefined;
  bodyLength?: number | undefined;
}

/** An upstream response whose head arrived; its body is still arriving (or has, see `body.complete`). */
export interface UpstreamHead {
  kind: UpstreamKind;
  method: string;
  status: number;
  /** As node:http would present them (duplicates joined or dropped the same way). */
  headers: IncomingHttpHeaders;
  /** Clock reading (ms) when the request was sent (§4.2.3). */
  requestTime: number;
  body: ResponseBody;
}

/** Where a response body goes as it arrives (ResponseBody.pipe). */
export interface BodySink {
  data(chunk: Buffer): void;
  end(): void;
  /** The exchange failed after the head (reset, timeout, or aborted by the edge): the body is incomplete. */
  error(error: UpstreamError): void;
}

/** How the exchange lets its body's reader control the flow. */
interface BodyFlow {
  pause(): void;
  resume(): void;
  abort(reason: string): void;
}

/**
 * A response body as it arrives. Chunks that arrive before a sink is attached are queued, so a body
 * that came in the same read as its head (most responses) is `complete` when the head is handed out.
 */
export class ResponseBody {
  /** Bytes received so far. */
  received = 0;
  /** Clock reading (ms) when the last byte arrived (§4.2.3 response_time); NaN until then. */
  responseTime = Number.NaN;
  private queued: Buffer[] = [];
  private sink: BodySink | undefined;
  private state: 'open' | 'ended' | 'failed' = 'open';
  private failure: UpstreamError | undefined;
  private readonly flow: BodyFlow;

  constructor(flow: BodyFlow) {
    this.flow = flow;
  }

  /** Whether the whole body has arrived. */
  get complete(): boolean {
    return this.state === 'ended';
  }

  /** The whole body, when it has arrived and nothing was piped yet (no promise, no sink: most misses). */
  takeComplete(): Buffer | undefined {
    if (this.state !== 'ended' || this.sink !== undefined) return undefined;
    const body = exactBody(this.queued, this.received);
    this.queued = [];
    return body;
  }

  /** Delivers what arrived so far, then every later chunk, to `sink`. */
  pipe(sink: BodySink): void {
    this.sink = sink;
    const queued = this.queued;
    this.queued = [];
    for (const chunk of queued) sink.data(chunk);
    if (this.state === 'ended') sink.end();
    else if (this.state === 'failed') sink.error(this.failure as UpstreamError);
  }

  /**
   * The whole body as one exact-size Buffer (exactBody). Past `limit` bytes the exchange is aborted
   * and the answer is undefined; a failed exchange rejects with its UpstreamError.
   */
  whole(limit: number): Promise<Buffer | undefined> {
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let over = false;
      this.pipe({
        data: (chunk) => {
          if (over) return;
          total += chunk.length;
          if (total > limit) {
            over = true;
            chunks.length = 0;
            this.abort('body larger than the limit');
            resolve(undefined);
            return;
          }
          chunks.push(chunk);
        },
        end: () => resolve(exactBody(chunks, total)),
        error: (error) => (over ? undefined : reject(error)),
      });
    });
  }

  /** Stops reading from the upstream (the client is not taking the bytes as fast). */
  pause(): void {
    if (this.state === 'open') this.flow.pause();
  }

  resume(): void {
    if (this.state === 'open') this.flow.resume();
  }

  /** Ends the exchange early: nobody wants the rest. The sink sees error(); the metric keeps the status. */
  abort(reason: string): void {
    if (this.state === 'open') this.flow.abort(reason);
  }

  /** For the exchange. */
  push(chunk: Buffer): void {
    this.received += chunk.length;
    if (this.sink) this.sink.data(chunk);
    else this.queued.push(chunk);
  }

  /** For the exchange. */
  finish(responseTime: number): void {
    this.state = 'ended';
    this.responseTime = responseTime;
    this.sink?.end();
  }

  /** For the exchange. */
  fail(error: UpstreamError): void {
    this.state = 'failed';
    this.failure = error;
    this.queued = [];
    this.sink?.error(error);
  }
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
   * chosen peer). Rejects at once with reason `down` when every candidate is down. Resolves when
   * the response head arrives; the body follows through `body`.
   */
  open(request: UpstreamRequest, baseUrl?: string): Promise<UpstreamHead> {
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

  /** `open`, then the whole body (at most `limit` bytes; more is an UpstreamError). */
  async fetch(request: UpstreamRequest, baseUrl?: string, limit = Number.POSITIVE_INFINITY): Promise<UpstreamResponse> {
    const head = await this.open(request, baseUrl);
    const body = await head.body.whole(limit);
    if (body === undefined) throw new UpstreamError('failed', this.kind, `${this.kind} response larger than ${limit} bytes`);
    return { kind: head.kind, method: head.method, status: head.status, headers: head.headers, body, requestTime: head.requestTime, responseTime: head.body.responseTime };
  }

  close(): void {
    void this.agent.destroy().catch(() => undefined);
  }

  /**
   * One exchange. The simulated delay sits inside it: the duration metric, the deadline and the
   * request time (hence the Age correction of §4.2.3) all count it, as they would a real round trip.
   * The deadline runs until the head arrives; then it restarts with every chunk of the body (a
   * between-bytes timeout, as nginx's proxy_read_timeout and Varnish's between_bytes_timeout), and
   * not while the edge itself holds the body back (paused for a slow client).
   */
  private exchange(base: Base, request: UpstreamRequest): Promise<UpstreamHead> {
    const kind = this.kind;
    const started = performance.now();
    const requestTime = this.now();
    return new Promise<UpstreamHead>((resolve, reject) => {
      let settled = false;
      let status = 502;
      let controller: Dispatcher.DispatchController | undefined;
      let delayTimer: NodeJS.Timeout | undefined;
      let body: ResponseBody | undefined;
      /** Set when the edge ends the exchange itself: the upstream answered, so the metric keeps its status. */
      let abortedByEdge = false;
      let paused = false;
      const settle = (error: UpstreamError | undefined) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(delayTimer);
        const received = body?.received ?? 0;
        this.metrics.upstreamExchange(kind, error && !abortedByEdge ? undefined : status, (performance.now() - started) / 1000, received);
        // Health: an exchange the edge ended itself (client gone, body over the limit) got its response.
        this.observe(base, error !== undefined && !abortedByEdge, error?.message);
        if (body === undefined) reject(error as UpstreamError);
        else if (error) body.fail(error);
        else body.finish(this.now());
      };
      const expire = () => {
        const error = new UpstreamError('timeout', kind, `${kind} did not answer within ${this.timeoutMs} ms`);
        settle(error);
        controller?.abort(error);
      };
      let timer = setTimeout(expire, this.timeoutMs);
      const flow: BodyFlow = {
        pause: () => {
          paused = true;
          clearTimeout(timer);
          controller?.pause();
        },
        resume: () => {
          paused = false;
          clearTimeout(timer);
          timer = setTimeout(expire, this.timeoutMs);
          controller?.resume();
        },
        abort: (reason) => {
          abortedByEdge = true;
          const error = new UpstreamError('failed', kind, `${kind} response abandoned: ${reason}`);
          settle(error);
          controller?.abort(error);
        },
      };
      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(c) {
          controller = c;
          if (settled) c.abort(new Error('exchange already settled'));
        },
        onResponseStart: (_c, statusCode, responseHeaders) => {
          status = statusCode;
          timer.refresh(); // the deadline starts over for the body (between bytes)
          body = new ResponseBody(flow);
          resolve({ kind, method: request.method, status, headers: nodeStyleHeaders(responseHeaders), requestTime, body });
        },
        onResponseData: (_c, chunk) => {
          if (settled) return;
          if (!paused) timer.refresh();
          (body as ResponseBody).push(chunk);
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
    // The edge sends a body's length itself (no 100-continue upstream: the client's body is already coming).
    if (value === undefined || name === 'host' || name === 'content-length' || name === 'expect') continue;
    if (Array.isArray(value)) for (const item of value) flat.push(name, item);
    else flat.push(name, String(value));
  }
  if (Buffer.isBuffer(request.body)) flat.push('content-length', String(request.body.length));
  else if (request.body !== undefined && request.bodyLength !== undefined) flat.push('content-length', String(request.bodyLength));
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
