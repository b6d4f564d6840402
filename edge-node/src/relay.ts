// One upstream body on its way to the client that asked for it, as it arrives, and into memory for
// the cache while it may be kept (storable, and no larger than MAX_OBJECT_BYTES). The memory a body
// in flight costs is bounded either way: a kept body by the object limit; a body that is only passed
// on by the client's socket buffer, because the upstream is paused whenever the client's socket is
// full (the between-bytes timeout does not run meanwhile, see upstream.ts).
import type { ServerResponse } from 'node:http';
import { exactBody, type BodySink, type ResponseBody, type UpstreamError } from './upstream.ts';

/** How the client's side ended: body bytes written, and whether all of them, or who cut it short. */
export type RelayDone = (sentBytes: number, end: 'complete' | 'client-gone' | 'upstream-failed') => void;

export class BodyRelay implements BodySink {
  /**
   * The whole body as one exact-size Buffer when it was kept to the end; undefined when it was not
   * kept, outgrew the limit, or the exchange failed (a half body is never kept).
   */
  readonly kept: Promise<Buffer | undefined>;
  private resolveKept: (body: Buffer | undefined) => void = () => undefined;
  private readonly body: ResponseBody;
  private readonly keepUpTo: number;
  /** Chunks kept for the cache so far; undefined once not keeping. */
  private chunks: Buffer[] | undefined;
  private keptBytes = 0;
  /** Chunks that arrived before a client was attached, when they are not kept anyway. */
  private pending: Buffer[] = [];
  private client: ServerResponse | undefined;
  /** The attached client takes body bytes (not HEAD, still connected, not finished). */
  private clientTakes = false;
  private sent = 0;
  private done: RelayDone | undefined;
  private state: 'open' | 'ended' | 'failed' = 'open';

  /** `keepUpTo`: keep at most this many bytes for the cache; 0 keeps nothing. */
  constructor(body: ResponseBody, keepUpTo: number) {
    this.body = body;
    this.keepUpTo = keepUpTo;
    this.kept = new Promise((resolve) => {
      this.resolveKept = resolve;
    });
    if (keepUpTo > 0) this.chunks = [];
    else this.resolveKept(undefined);
    body.pipe(this);
  }

  /** Whether the exchange failed before the body was complete. */
  get failed(): boolean {
    return this.state === 'failed';
  }

  /** Whether the body is still being kept for the cache. */
  get keeping(): boolean {
    return this.chunks !== undefined;
  }

  /**
   * Sends the body to `res`, whose head the caller has just written; `withBody` false (HEAD) ends it
   * there. A client that goes away stops the exchange unless the body is being kept for the cache.
   */
  attach(res: ServerResponse, withBody: boolean, done: RelayDone): void {
    this.client = res;
    this.done = done;
    if (!withBody) {
      res.end();
      this.finishClient('complete');
      this.abortIfUnwanted();
      return;
    }
    this.clientTakes = true;
    res.on('drain', () => this.body.resume());
    res.on('close', () => {
      if (!this.clientTakes) return;
      this.clientTakes = false;
      this.finishClient('client-gone');
      this.abortIfUnwanted();
      // A kept body goes on filling the cache; it was never paused for this client's sake.
    });
    const backlog = this.chunks ?? this.pending;
    this.pending = [];
    for (const chunk of backlog) this.write(chunk);
    if (this.state === 'ended') this.endClient();
    else if (this.state === 'failed') this.failClient();
    else this.body.resume();
  }

  data(chunk: Buffer): void {
    if (this.chunks !== undefined) {
      this.keptBytes += chunk.length;
      if (this.keptBytes <= this.keepUpTo) {
        this.chunks.push(chunk);
      } else {
        // Outgrew the object limit: stop keeping, stream the rest on. Not yet sent bytes stay pending.
        const held = this.chunks;
        this.chunks = undefined;
        this.resolveKept(undefined);
        if (this.client === undefined) this.pending = held;
        else if (this.client.writableNeedDrain) this.body.pause();
        this.abortIfUnwanted();
      }
    }
    if (this.client === undefined) {
      if (this.chunks === undefined) {
        this.pending.push(chunk);
        this.body.pause();
      }
    } else if (this.clientTakes) {
      this.write(chunk);
    }
  }

  end(): void {
    this.state = 'ended';
    if (this.chunks !== undefined) {
      const whole = exactBody(this.chunks, this.keptBytes);
      // Complete before a client was attached (a client delay outlasted the body): the client gets
      // the chunks as they came (the kept copy may be evicted, and its pages given back, meanwhile).
      if (this.client === undefined) this.pending = this.chunks;
      this.chunks = undefined;
      this.resolveKept(whole);
    }
    if (this.clientTakes) this.endClient();
  }

  error(_error: UpstreamError): void {
    this.state = 'failed';
    this.pending = [];
    if (this.chunks !== undefined) {
      this.chunks = undefined;
      this.resolveKept(undefined);
    }
    if (this.clientTakes) this.failClient();
  }

  private write(chunk: Buffer): void {
    const res = this.client as ServerResponse;
    this.sent += chunk.length;
    // A kept body is in memory anyway: the upstream is paused only for bodies that are passed on.
    if (!res.write(chunk) && this.chunks === undefined) this.body.pause();
  }

  private endClient(): void {
    this.clientTakes = false;
    (this.client as ServerResponse).end();
    this.finishClient('complete');
  }

  /** The upstream failed after the head went out: the client's response is cut short, never completed. */
  private failClient(): void {
    this.clientTakes = false;
    (this.client as ServerResponse).destroy();
    this.finishClient('upstream-failed');
  }

  private finishClient(end: Parameters<RelayDone>[1]): void {
    const done = this.done;
    this.done = undefined;
    done?.(this.sent, end);
  }

  /** Nobody wants the rest of a body that is not kept: end the exchange. */
  private abortIfUnwanted(): void {
    if (this.chunks === undefined && !this.clientTakes && this.client !== undefined && this.state === 'open') this.body.abort('the client went away');
  }
}
