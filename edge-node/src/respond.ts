// Answering the client (the last step of the request path): a fresh hit from its precomputed head,
// a stored or just fetched response (with 304, 206 and 416 from the stored bytes), a response whose
// body is still arriving, and the edge's own errors. Every answer is written here, so the simulated
// client delay, the body lease and the metric sample and log line each happen in one place.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { AccessLog, type Logger } from '@cdn-lab/service-kit';
import type { CacheStore } from './cache-store.ts';
import { EdgeError, type EdgeErrorKind } from './errors.ts';
import { appendCacheStatus, cacheStatus, type ForwardReason } from './http/cache-status.ts';
import { NOT_MODIFIED_FIELDS, notModified } from './http/conditional.ts';
import { ageSeconds, currentAge } from './http/freshness.ts';
import { first } from './http/headers.ts';
import { acceptsHeadBlock, buildHeadBlock, endWithHead, keepAliveFields } from './http/head-block.ts';
import { decideRange } from './http/range.ts';
import type { EdgeMetrics, Result } from './metrics.ts';
import type { BodyRelay } from './relay.ts';
import { HOP_HEADER } from './route.ts';
import { storedFields, validatorsOf, type StoredResponse } from './stored-response.ts';
import type { UpstreamError, UpstreamErrorReason } from './upstream.ts';

/** Reasons a response is for one client only (or one the cache may not interpret): answered as a bypass. */
const PRIVATE_REASONS = new Set(['no-store', 'private', 'set-cookie', 'authorization', 'must-understand']);

/** The edge's own error, and the Cache-Status detail, for each way an upstream fetch can fail. */
const UPSTREAM_ERROR_KIND = { timeout: 'upstreamTimeout', failed: 'upstreamFailed', down: 'upstreamDown' } as const satisfies Record<UpstreamErrorReason, EdgeErrorKind>;
const UPSTREAM_ERROR_DETAIL: Record<UpstreamErrorReason, string> = { timeout: 'upstream-timeout', failed: 'upstream-error', down: 'upstream-down' };

/**
 * A fresh hit slower than this is logged whatever the sampling: the logs dashboard's "Slow requests"
 * panel lists lines over the edge p99 alert threshold (grafana/src/rules.ts), 250 ms.
 */
const SLOW_HIT_LOG_MS = 250;

/**
 * One client request on the full path, handed over explicitly by the fast path (which allocates it
 * only for requests it does not answer): when it arrived, for the duration metric and the log line,
 * and what the fast path already learnt.
 */
export interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the request reached the handler. */
  readonly start: number;
  /** The fast path already looked the URL up (so the policy counts one request, not two), finding `entry`. */
  readonly looked: boolean;
  readonly entry: StoredResponse | undefined;
}

/** An exchange the fast path did not look up (it stepped aside, or failed). */
export function exchangeOf(req: IncomingMessage, res: ServerResponse, start = performance.now()): Exchange {
  return { req, res, start, looked: false, entry: undefined };
}

/** A response handed to its client as its body arrives (`response` is described from its head, body empty). */
export interface Streamed {
  response: StoredResponse;
  relay: BodyRelay;
  /** Being kept for the cache, with a known length within MAX_OBJECT_BYTES (Cache-Status `stored`). */
  stored: boolean;
  /** Its Content-Length is over MAX_OBJECT_BYTES: passed on, never kept. */
  tooLarge: boolean;
  upstreamCacheStatus: string | undefined;
}

/** A complete response that came from upstream for the cache (refreshed by a 304, or new). */
export interface Fetched {
  response: StoredResponse;
  stored: boolean;
  notModified: boolean;
  upstreamCacheStatus: string | undefined;
}

export interface ResponderDeps {
  store: CacheStore;
  metrics: EdgeMetrics;
  logger: Logger;
  now: () => number;
  /** CLIENT_DELAY_MS: waited before each answer is written (not to peers). */
  clientDelayMs: number;
  /** The server's keepAliveTimeout, announced in the Keep-Alive field of precomputed hit heads. */
  keepAliveTimeoutMs: number;
  /** ACCESS_LOG_HIT_SAMPLE: one fresh hit in this many gets an access log line. */
  accessLogHitSample: number;
  /** Whether a request comes from a peer edge (its hop header carries the fleet secret). */
  fromPeer(headers: IncomingHttpHeaders): boolean;
}

export class Responder {
  private readonly store: CacheStore;
  private readonly metrics: EdgeMetrics;
  private readonly logger: Logger;
  /** One line per answered request. */
  private readonly accessLog: AccessLog;
  private readonly now: () => number;
  private readonly clientDelayMs: number;
  /** `connection` and `keep-alive` lines of a precomputed hit head, as node:http would write them. */
  private readonly keepAliveFields: string;
  private readonly hitSample: number;
  /** Fresh hits since the last one logged; starts so that the first hit is logged. */
  private hitsSinceLine: number;
  private readonly fromPeer: (headers: IncomingHttpHeaders) => boolean;

  constructor(deps: ResponderDeps) {
    this.store = deps.store;
    this.metrics = deps.metrics;
    this.logger = deps.logger;
    this.accessLog = new AccessLog(deps.logger);
    this.now = deps.now;
    this.clientDelayMs = deps.clientDelayMs;
    this.keepAliveFields = keepAliveFields(deps.keepAliveTimeoutMs);
    this.hitSample = deps.accessLogHitSample;
    this.hitsSinceLine = this.hitSample - 1;
    this.fromPeer = deps.fromPeer;
  }

  writeHit(req: IncomingMessage, res: ServerResponse, entry: StoredResponse, ageMs: number, start: number): void {
    const age = ageSeconds(ageMs);
    const ttl = Math.floor((entry.lifetimeMs - ageMs) / 1000);
    const body = req.method === 'HEAD' ? undefined : entry.body;
    let block = entry.headBlock;
    if (block === undefined) block = entry.headBlock = buildHeadBlock(entry.status, entry.hitHeaders);
    if (block !== null && req.headers.expect === undefined && acceptsHeadBlock(res)) {
      endWithHead(res, entry.status, `${block}age: ${age}\r\ncache-status: cdn-lab; hit; ttl=${ttl}\r\n${this.keepAliveFields}\r\n`, body);
    } else {
      res.writeHead(entry.status, entry.hitHeaders.concat('age', String(age), 'cache-status', `cdn-lab; hit; ttl=${ttl}`));
      res.end(body);
    }
    this.record(req, start, 'hit', entry.status, body === undefined ? 0 : body.length);
  }

  /** The hit as decided now (same Age and ttl), delivered after the simulated client round trip. */
  writeHitLater(req: IncomingMessage, res: ServerResponse, entry: StoredResponse, ageMs: number, start: number): void {
    setTimeout(() => this.writeHit(req, res, entry, ageMs, start), this.clientDelayMs);
  }

  /** Records one answered client request: one metric sample and one log line. */
  finish(ex: Exchange, result: Result, status: number, bytes: number): void {
    this.record(ex.req, ex.start, result, status, bytes);
  }

  private record(req: IncomingMessage, start: number, result: Result, status: number, bytes: number): void {
    const ms = performance.now() - start;
    this.metrics.request(result, status, ms / 1000, bytes);
    if (!this.accessLog.enabled) return;
    let sample = '';
    // Fresh hits are sampled: a line is a large share of a hit's own work (loadtest/BENCH.md, "What
    // logging costs"), and the metrics count every one. A sampled line stands for `sample` hits.
    if (result === 'hit' && this.hitSample > 1 && ms < SLOW_HIT_LOG_MS) {
      if (++this.hitsSinceLine < this.hitSample) return;
      this.hitsSinceLine = 0;
      sample = `,"sample":${this.hitSample}`;
    }
    this.accessLog.write(
      `"method":${JSON.stringify(req.method)},"path":${JSON.stringify(req.url)},"status":${status},"result":"${result}","bytes":${bytes},"durationMs":${Math.round(ms * 1000) / 1000}${sample}`,
    );
  }

  serveOutcome(ex: Exchange, outcome: Fetched, fwd: ForwardReason, collapsed: boolean): void {
    const response = outcome.response;
    const ageMs = currentAge(response, this.now());
    if (outcome.notModified) {
      const cs = cacheStatus({ fwd, fwdStatus: 304, stored: outcome.stored, collapsed });
      return this.serveStored(ex, response, ageMs, cs, 'revalidated');
    }
    const { cs, result } = fetchedStatus(response, outcome.upstreamCacheStatus, { fwd, stored: outcome.stored, collapsed });
    return this.serveStored(ex, response, ageMs, cs, result);
  }

  /**
   * Answers with a response whose body is still arriving: the head now (after the client delay), the
   * body as the relay passes it on. Range and conditional requests get the full 200 (RFC 9110 §14.2
   * lets a server ignore Range; a 200 is a valid answer to a conditional GET): the bytes to compare
   * or slice are not there yet. Its Cache-Status is written before the body: see Streamed.stored.
   */
  serveStreamed(ex: Exchange, streamed: Streamed, fwd: ForwardReason, passedHeaders?: string[]): void {
    const { req, res } = ex;
    const response = streamed.response;
    let headers = passedHeaders;
    let result: Result = 'bypass';
    if (headers === undefined) {
      const fetched = fetchedStatus(response, streamed.upstreamCacheStatus, { fwd, stored: streamed.stored, detail: streamed.tooLarge ? 'too-large' : undefined });
      headers = response.hitHeaders.concat('age', String(ageSeconds(currentAge(response, this.now()))), 'cache-status', fetched.cs);
      result = fetched.result;
    }
    const head = headers;
    const status = response.status;
    const start = () => {
      res.writeHead(status, head);
      streamed.relay.attach(res, req.method !== 'HEAD' && status !== 204 && status !== 304, (sent, end) => {
        if (end === 'upstream-failed') this.logger.warn({ path: req.url, status, sent }, 'upstream body failed after the head was sent: response cut short');
        this.finish(ex, end === 'upstream-failed' ? 'error' : result, status, sent);
      });
    };
    if (this.clientDelayMs === 0 || req.headers[HOP_HEADER] !== undefined) start();
    else setTimeout(start, this.clientDelayMs);
  }

  /**
   * Writes a stored (or just fetched) response, answering the client's conditional request with 304
   * (RFC 9111 §4.3.2) and a single byte Range with 206/416 (RFC 9110 §14) from the complete body.
   */
  serveStored(ex: Exchange, entry: StoredResponse, ageMs: number, cs: string, result: Result): void {
    const { req } = ex;
    const h = req.headers;
    const status = entry.status;
    const age = String(ageSeconds(ageMs));
    if (status >= 200 && status < 300 && (h['if-none-match'] !== undefined || h['if-modified-since'] !== undefined)) {
      if (notModified({ ifNoneMatch: first(h['if-none-match']), ifModifiedSince: first(h['if-modified-since']) }, validatorsOf(entry))) {
        return this.writeNotModified(ex, entry, ageMs, cs, result);
      }
    }
    if (status === 200 && h.range !== undefined && req.method === 'GET') {
      const length = entry.body.length;
      const decision = decideRange(first(h.range), length, { value: first(h['if-range']), etag: entry.etag, lastModified: entry.lastModified });
      if (decision.kind === 'partial') {
        return this.writePartial(ex, entry, decision.start, decision.end, length, entry.body.subarray(decision.start, decision.end + 1), ageMs, cs, result);
      }
      if (decision.kind === 'unsatisfiable') return this.writeUnsatisfiable(ex, length, cs, result);
    }
    this.write(ex, status, entry.hitHeaders.concat('age', age, 'cache-status', cs), entry.body, result);
  }

  /** 304 to a client's conditional request, with the fields a 304 carries (RFC 9110 §15.4.5). */
  writeNotModified(ex: Exchange, entry: StoredResponse, ageMs: number, cs: string, result: Result): void {
    const headers: string[] = [];
    const fields = entry.hitHeaders;
    for (let i = 0; i < fields.length; i += 2) {
      if (NOT_MODIFIED_FIELDS.has(fields[i] as string)) headers.push(fields[i] as string, fields[i + 1] as string);
    }
    headers.push('age', String(ageSeconds(ageMs)), 'cache-status', cs);
    this.write(ex, 304, headers, undefined, result);
  }

  /** 206 with bytes `start`..`end` of a representation of `length` bytes (RFC 9110 §15.3.7). */
  writePartial(ex: Exchange, entry: StoredResponse, start: number, end: number, length: number, bytes: Buffer, ageMs: number, cs: string, result: Result): void {
    const headers = storedFields(entry).concat(
      'content-range', `bytes ${start}-${end}/${length}`,
      'content-length', String(bytes.length),
      'age', String(ageSeconds(ageMs)), 'cache-status', cs,
    );
    this.write(ex, 206, headers, bytes, result);
  }

  /** 416 for a range past the end of a representation of `length` bytes (RFC 9110 §15.5.17). */
  writeUnsatisfiable(ex: Exchange, length: number, cs: string, result: Result): void {
    const body = Buffer.from(JSON.stringify({ error: 'range_not_satisfiable', message: `representation is ${length} bytes` }));
    const headers = ['content-type', 'application/json', 'content-range', `bytes */${length}`, 'content-length', String(body.length), 'cache-status', cs];
    this.write(ex, 416, headers, body, result);
  }

  /**
   * Every answer of the full path ends here, so the client delay is added once, in one place. A peer
   * edge's forwarded request is not delayed: the sender's UPSTREAM_DELAY_MS already is that round trip.
   */
  write(ex: Exchange, status: number, headers: string[], body: Buffer | undefined, result: Result): void {
    const { req, res } = ex;
    if (body !== undefined) this.store.lease(body, res);
    if (this.clientDelayMs === 0 || this.fromPeer(req.headers)) this.writeNow(ex, status, headers, body, result);
    else this.writeLater(ex, status, headers, body, result);
  }

  private writeLater(ex: Exchange, status: number, headers: string[], body: Buffer | undefined, result: Result): void {
    setTimeout(() => this.writeNow(ex, status, headers, body, result), this.clientDelayMs);
  }

  private writeNow(ex: Exchange, status: number, headers: string[], body: Buffer | undefined, result: Result): void {
    const { req, res } = ex;
    res.writeHead(status, headers);
    const sendBody = req.method !== 'HEAD' && body !== undefined && status !== 304 && status !== 204;
    res.end(sendBody ? body : undefined);
    this.finish(ex, result, status, sendBody ? (body as Buffer).length : 0);
  }

  onlyIfCachedMiss(ex: Exchange): void {
    // §5.2.1.7: only-if-cached with nothing usable stored is answered 504 without going upstream.
    this.sendError(ex, new EdgeError('onlyIfCached', 'only-if-cached and no usable stored response'), cacheStatus({ detail: 'only-if-cached' }), 'miss');
  }

  upstreamFailed(ex: Exchange, error: UpstreamError, fwd: ForwardReason, collapsed: boolean): void {
    const { req } = ex;
    const kind = UPSTREAM_ERROR_KIND[error.reason];
    const cs = cacheStatus({ fwd, collapsed, detail: UPSTREAM_ERROR_DETAIL[error.reason] });
    // A failed exchange's detail (addresses, socket errors) goes to the log; the client learns only
    // which hop failed. Timeouts and "down" name no address.
    let message = error.message;
    if (error.reason === 'failed') {
      this.logger.warn({ path: req.url, upstream: error.kind, err: error.message }, 'upstream failed');
      message = `could not get a response from the ${error.kind}`;
    }
    this.sendError(ex, new EdgeError(kind, message), cs, 'error');
  }

  /** Answers with an error of the catalogue (JSON body), counting it under `result`. */
  sendError(ex: Exchange, error: EdgeError, cs: string, result: Result): void {
    const body = Buffer.from(JSON.stringify({ error: error.code, message: error.message }));
    const headers = ['content-type', 'application/json', 'cache-control', 'no-store', 'content-length', String(body.length), 'cache-status', cs];
    // The rest of the request (a refused body) is not read: the connection cannot be reused.
    if (error.status === 400 || error.status === 413 || error.status === 431) headers.push('connection', 'close');
    this.write(ex, error.status, headers, body, result);
  }
}

/**
 * Cache-Status and result of a fetched response: a bypass when the response is for one client only
 * (no-store, private, Set-Cookie, Authorization), else a miss (`stored` when kept).
 */
export function fetchedStatus(
  response: StoredResponse,
  upstreamCacheStatus: string | undefined,
  params: { fwd: ForwardReason; stored: boolean; collapsed?: boolean; detail?: string | undefined },
): { cs: string; result: Result } {
  const storability = response.storability;
  const collapsed = params.collapsed === true;
  if (!storability.storable && PRIVATE_REASONS.has(storability.reason)) {
    // The response forbids shared caching: report it as a bypass (the cache could not take part).
    return { cs: appendCacheStatus(upstreamCacheStatus, cacheStatus({ fwd: 'bypass', collapsed, detail: storability.reason })), result: 'bypass' };
  }
  const ours = cacheStatus({ fwd: params.fwd, stored: params.stored, collapsed, ...(params.detail ? { detail: params.detail } : {}) });
  return { cs: appendCacheStatus(upstreamCacheStatus, ours), result: collapsed ? 'collapsed' : 'miss' };
}
