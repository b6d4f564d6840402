// Byte ranges (RFC 9110 §14): parsing a client's Range and an upstream's Content-Range, and deciding
// how to answer a Range from a representation of known length. Pure functions.
import { strongMatch } from './conditional.ts';
import { parseHttpDate } from './freshness.ts';

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

/**
 * One byte-range-spec: `first-last`, `first-` (last undefined) or the suffix `-last` (first
 * undefined: the last `last` bytes).
 */
export interface ByteRangeSpec {
  first: number | undefined;
  last: number | undefined;
}

const SINGLE_RANGE = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i;

/**
 * A Range field with exactly one valid byte range, or undefined: absent, other units, several
 * ranges, or malformed (`bytes=5-3`, `bytes=-`). Those are answered as if there were no Range
 * (§14.2 allows a server to ignore it).
 */
export function parseSingleRange(range: string | undefined): ByteRangeSpec | undefined {
  if (range === undefined) return undefined;
  const match = SINGLE_RANGE.exec(range);
  if (!match) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') return { first: undefined, last: Number(last) };
  if (last !== '' && Number(last) < Number(first)) return undefined;
  return { first: Number(first), last: last === '' ? undefined : Number(last) };
}

/** The spec as a Range field value. */
export function formatRange(spec: ByteRangeSpec): string {
  return `bytes=${spec.first ?? ''}-${spec.last ?? ''}`;
}

/** Resolves a spec against a representation of `length` bytes (§14.1.2). */
export function resolveRange(spec: ByteRangeSpec, length: number): Exclude<RangeDecision, { kind: 'full' }> {
  if (spec.first === undefined) {
    const suffix = spec.last as number;
    if (suffix === 0 || length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, length - suffix), end: length - 1 };
  }
  if (spec.first >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start: spec.first, end: spec.last === undefined ? length - 1 : Math.min(spec.last, length - 1) };
}

/**
 * Decides how to answer `Range` for a representation of `length` bytes. Only a single byte range is
 * served; several ranges, other units or a malformed header fall back to the full 200 (§14.2 allows
 * a server to ignore Range). `If-Range` (§13.1.5) that does not match also means the full response.
 */
export function decideRange(
  range: string | undefined,
  length: number,
  ifRange?: { value: string | undefined; etag: string | undefined; lastModified: string | undefined },
): RangeDecision {
  if (range === undefined) return { kind: 'full' };
  if (ifRange?.value !== undefined && !ifRangeMatches(ifRange.value, ifRange.etag, ifRange.lastModified)) return { kind: 'full' };
  const spec = parseSingleRange(range);
  return spec === undefined ? { kind: 'full' } : resolveRange(spec, length);
}

function ifRangeMatches(value: string, etag: string | undefined, lastModified: string | undefined): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return etag !== undefined && strongMatch(trimmed, etag);
  const date = parseHttpDate(trimmed);
  const modified = parseHttpDate(lastModified);
  return date !== undefined && modified !== undefined && date === modified;
}

/** A single-part 206's Content-Range (§14.4): the bytes enclosed and, unless `*`, the complete length. */
export interface ContentRange {
  start: number;
  end: number;
  completeLength: number | undefined;
}

const CONTENT_RANGE = /^\s*bytes\s+(\d+)-(\d+)\/(\d+|\*)\s*$/i;

/** Parses `bytes first-last/complete` (or `/*`); undefined for anything else or an invalid range. */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  if (value === undefined) return undefined;
  const match = CONTENT_RANGE.exec(value);
  if (!match) return undefined;
  const start = Number(match[1]);
  const end = Number(match[2]);
  const completeLength = match[3] === '*' ? undefined : Number(match[3]);
  if (end < start || (completeLength !== undefined && end >= completeLength)) return undefined;
  return { start, end, completeLength };
}
