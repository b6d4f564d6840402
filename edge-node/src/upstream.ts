// Fetching from upstream (origins, a parent edge, or a peer): keep-alive agents, a deadline for the
// whole exchange, round robin over several base URLs, an optional simulated network delay before
// each request, and exactly one metric sample per request sent.
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { EdgeMetrics, UpstreamKind } from './metrics.ts';

export interface UpstreamRequest {
  method: string;
  /** Origin-form target, appended to the base URL's path. */
  path: string;
  headers: http.OutgoingHttpHeaders;
  body?: Buffer | undefined;
}

export interface UpstreamResponse {
  kind: UpstreamKind;
  method: string;
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Clock readings (ms) when the request was sent and the response fully received (§4.2.3). */
  requestTime: number;
  responseTime: number;
}

/** No usable response: `timeout` (deadline passed) or `failed` (refused, reset, malformed). */
export class UpstreamError extends Error {
  readonly reason: 'timeout' | 'failed';
  readonly kind: UpstreamKind;
  constructor(reason: 'timeout' | 'failed', kind: UpstreamKind, message: string) {
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
}

interface Base {
  url: URL;
  /** Base path without a trailing slash, prefixed to every request path. */
  pathPrefix: string;
}

export class Upstream {
  readonly kind: UpstreamKind;
  private readonly bases: Base[];
  private readonly timeoutMs: number;
  private readonly delayMs: number;
  private readonly metrics: EdgeMetrics;
  private readonly now: () => number;
  private next = 0;
  // One pool per scheme: keep-alive avoids a TCP handshake per miss.
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxFreeSockets: 256 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxFreeSockets: 256 });

  constructor(options: UpstreamOptions) {
    if (options.urls.length === 0) throw new TypeError(`upstream "${options.kind}" needs at least one URL`);
    this.kind = options.kind;
    this.bases = options.urls.map((raw) => {
      const url = new URL(raw);
      return { url, pathPrefix: url.pathname.replace(/\/+$/, '') };
    });
    this.timeoutMs = options.timeoutMs;
    this.delayMs = options.delayMs ?? 0;
    this.metrics = options.metrics;
    this.now = options.now;
  }

  /** Sends to the next base URL in round-robin order, or to `baseUrl` when given (a chosen peer). */
  fetch(request: UpstreamRequest, baseUrl?: string): Promise<UpstreamResponse> {
    let base: Base;
    if (baseUrl !== undefined) {
      const url = new URL(baseUrl);
      base = { url, pathPrefix: url.pathname.replace(/\/+$/, '') };
    } else {
      base = this.bases[this.next] as Base;
      this.next = (this.next + 1) % this.bases.length;
    }
    return this.exchange(base, request);
  }

  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  /**
   * One exchange. The simulated delay sits inside it: the duration metric, the deadline and the
   * request time (hence the Age correction of §4.2.3) all count it, as they would a real round trip.
   */
  private exchange(base: Base, request: UpstreamRequest): Promise<UpstreamResponse> {
    const kind = this.kind;
    const started = performance.now();
    const requestTime = this.now();
    const secure = base.url.protocol === 'https:';
    return new Promise<UpstreamResponse>((resolve, reject) => {
      let settled = false;
      let received = 0;
      let req: http.ClientRequest | undefined;
      let delayTimer: NodeJS.Timeout | undefined;
      const settle = (status: number | undefined, error: UpstreamError | undefined, response?: UpstreamResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(delayTimer);
        this.metrics.upstreamExchange(kind, status, (performance.now() - started) / 1000, received);
        if (error) reject(error);
        else resolve(response as UpstreamResponse);
      };
      const timer = setTimeout(() => {
        const error = new UpstreamError('timeout', kind, `${kind} did not answer within ${this.timeoutMs} ms`);
        req?.destroy(error);
        settle(undefined, error);
      }, this.timeoutMs);
      const send = () => {
        req = this.send(base, request, secure);
        req.on('error', (cause) => settle(undefined, new UpstreamError('failed', kind, `${kind} request failed: ${cause.message}`)));
        req.on('response', (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            received += chunk.length;
          });
          res.on('error', (cause) => settle(undefined, new UpstreamError('failed', kind, `${kind} response failed: ${cause.message}`)));
          res.on('aborted', () => settle(undefined, new UpstreamError('failed', kind, `${kind} response aborted`)));
          res.on('end', () => {
            const status = res.statusCode ?? 502;
            settle(status, undefined, {
              kind,
              method: request.method,
              status,
              headers: res.headers,
              body: exactBody(chunks, received),
              requestTime,
              responseTime: this.now(),
            });
          });
        });
        req.end(request.body);
      };
      if (this.delayMs > 0) delayTimer = setTimeout(send, this.delayMs);
      else send();
    });
  }

  private send(base: Base, request: UpstreamRequest, secure: boolean): http.ClientRequest {
    const headers = { ...request.headers, host: base.url.host };
    if (request.body !== undefined) headers['content-length'] = String(request.body.length);
    return (secure ? https : http).request({
      protocol: base.url.protocol,
      hostname: base.url.hostname.replace(/^\[|\]$/g, ''),
      port: base.url.port || (secure ? 443 : 80),
      method: request.method,
      path: base.pathPrefix + request.path,
      headers,
      agent: secure ? this.httpsAgent : this.httpAgent,
    });
  }
}

/**
 * The body as one Buffer that owns exactly its bytes. A cached body lives for minutes, so it must not
 * be a view into something larger: Buffer.concat of under 4 KiB is a slice of Node's shared 8 KiB
 * pool, and a chunk may be a slice of a bigger read buffer; either would keep the whole block alive.
 */
export function exactBody(chunks: readonly Buffer[], total: number): Buffer {
  if (chunks.length === 1) {
    const only = chunks[0] as Buffer;
    if (only.byteOffset === 0 && only.buffer.byteLength === only.length) return only;
  }
  const body = Buffer.allocUnsafeSlow(total);
  let offset = 0;
  for (const chunk of chunks) offset += chunk.copy(body, offset);
  return body;
}
