// Byte ranges served from a complete stored response (RFC 9110 §14). Pure functions.
import { strongMatch } from './conditional.ts';
import { parseHttpDate } from './freshness.ts';

export type RangeDecision =
  | { kind: 'full' }
  | { kind: 'partial'; start: number; end: number }
  | { kind: 'unsatisfiable' };

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
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(range);
  if (!match) return { kind: 'full' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'full' };
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || length === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, length - suffix), end: length - 1 };
  }
  const start = Number(first);
  const end = last === '' ? length - 1 : Math.min(Number(last), length - 1);
  if (last !== '' && Number(last) < start) return { kind: 'full' };
  if (start >= length) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end };
}

function ifRangeMatches(value: string, etag: string | undefined, lastModified: string | undefined): boolean {
  const trimmed = value.trim();
  if (trimmed.startsWith('"') || trimmed.startsWith('W/')) return etag !== undefined && strongMatch(trimmed, etag);
  const date = parseHttpDate(trimmed);
  const modified = parseHttpDate(lastModified);
  return date !== undefined && modified !== undefined && date === modified;
}
