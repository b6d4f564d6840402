// A fresh hit's response head written as one precomputed block. Through writeHead, every hit
// copied the entry's field list, validated each name and value again and rebuilt the head text
// (with the Age and Cache-Status that change per hit): about a tenth of a hit's time
// (loadtest/BENCH.md). The stored part is built and validated once per entry, on its first hit;
// a hit appends Age, Cache-Status and the keep-alive fields and hands the block to node:http as
// the head it has already stored.
//
// That hand-over sets `_header`, node:http's own slot for a head built by writeHead (unchanged
// from Node 12 through 24). `acceptsHeadBlock` reads the slots it relies on with exact values, so a
// Node without them, and every response the block does not fit (closing connections, 100-continue,
// no Date, no Content-Length), goes through writeHead as before.
import { STATUS_CODES, validateHeaderName, validateHeaderValue, type ServerResponse } from 'node:http';

/** The node:http internals the hand-over relies on. */
interface ResponseInternals {
  _header: string | null;
  _headerSent: boolean;
  shouldKeepAlive: boolean;
  maxRequestsOnConnectionReached?: boolean;
}

/**
 * `HTTP/1.1 <status> <reason>` and the fields as `name: value` lines, each ending in CRLF; null when
 * a field is not valid on the wire (then writeHead rejects it as it always did) or when the head
 * lacks what node:http would have added or needs: a Date, and a Content-Length to keep the
 * connection without chunking.
 */
export function buildHeadBlock(status: number, fields: readonly string[]): string | null {
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'unknown'}\r\n`;
  let hasDate = false;
  let hasLength = false;
  try {
    for (let i = 0; i < fields.length; i += 2) {
      const name = fields[i] as string;
      const value = fields[i + 1] as string;
      validateHeaderName(name);
      validateHeaderValue(name, value);
      if (name === 'date') hasDate = true;
      else if (name === 'content-length') hasLength = true;
      text += `${name}: ${value}\r\n`;
    }
  } catch {
    return null;
  }
  return hasDate && hasLength ? text : null;
}

/** The fields node:http adds to a response on a connection it keeps open. */
export function keepAliveFields(keepAliveTimeoutMs: number): string {
  return `connection: keep-alive\r\nkeep-alive: timeout=${Math.floor(keepAliveTimeoutMs / 1000)}\r\n`;
}

/**
 * Whether this response can take a precomputed head: node:http has not built one, and will keep
 * the connection open after it (as the keep-alive fields in the block say). False, too, on a Node
 * whose responses lack these slots (undefined is neither null, false nor true).
 */
export function acceptsHeadBlock(res: ServerResponse): boolean {
  const r = res as unknown as ResponseInternals;
  return r._header === null && r._headerSent === false && r.shouldKeepAlive === true && r.maxRequestsOnConnectionReached !== true;
}

/** Ends the response with `head` (complete, blank line included) and `body` in one write. */
export function endWithHead(res: ServerResponse, status: number, head: string, body: Buffer | undefined): void {
  res.statusCode = status;
  (res as unknown as ResponseInternals)._header = head;
  res.end(body);
}
