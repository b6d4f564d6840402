// Partial entries (RFC 9111 §3.3, §3.4): which bytes of a representation a stored 206 holds, what is
// missing from a range, the bytes of a held range, and combining a new part into what is held.
// Pure functions over PartialContent (stored-response.ts) and its body.
import { allocateBody } from './reclaim.ts';
import type { PartialContent } from './stored-response.ts';

/** A held part of a partial entry: its byte range and where its bytes start in the body. */
interface HeldPart {
  first: number;
  last: number;
  offset: number;
}

function* parts(partial: PartialContent): Generator<HeldPart> {
  const ranges = partial.ranges;
  let offset = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const first = ranges[i] as number;
    const last = ranges[i + 1] as number;
    yield { first, last, offset };
    offset += last - first + 1;
  }
}

/** Bytes `start`..`end` (inclusive) of the representation when one held part contains them all. */
export function heldBytes(partial: PartialContent, body: Buffer, start: number, end: number): Buffer | undefined {
  for (const part of parts(partial)) {
    if (part.first <= start && end <= part.last) return body.subarray(part.offset + start - part.first, part.offset + end - part.first + 1);
  }
  return undefined;
}

/**
 * The smallest range that covers every byte of `start`..`end` not held, or undefined when all are
 * held. Held bytes between two gaps are inside it: one request fetches the rest.
 */
export function missingCover(partial: PartialContent | undefined, start: number, end: number): { start: number; end: number } | undefined {
  if (partial === undefined) return { start, end };
  const ranges = partial.ranges;
  let from = start;
  for (let i = 0; i < ranges.length; i += 2) {
    const first = ranges[i] as number;
    const last = ranges[i + 1] as number;
    if (last < from) continue;
    if (first > from) break;
    from = last + 1;
  }
  if (from > end) return undefined;
  let to = end;
  for (let i = ranges.length - 2; i >= 0; i -= 2) {
    const first = ranges[i] as number;
    const last = ranges[i + 1] as number;
    if (first > to) continue;
    if (last < to) break;
    to = first - 1;
  }
  return { start: from, end: to };
}

/**
 * `start`..`end` widened to whole slices of `slice` bytes (the first slice starts at byte 0), and
 * cut at the representation's last byte when its length is known. Slices make a few large parts out
 * of many small requests (nginx's slice module does the same), and let a small representation
 * arrive whole on its first range request.
 */
export function alignToSlices(start: number, end: number, slice: number, completeLength: number | undefined): { start: number; end: number } {
  const first = Math.floor(start / slice) * slice;
  let last = (Math.floor(end / slice) + 1) * slice - 1;
  if (completeLength !== undefined) last = Math.min(last, completeLength - 1);
  return { start: first, end: last };
}

/**
 * The bytes held after adding `piece` (bytes `start`..) to what `partial` and `body` hold: the
 * union of the ranges, the new piece's bytes where they overlap (equal anyway: combining needs the
 * same strong validator). `partial` undefined: nothing held yet.
 */
export function addPart(partial: PartialContent | undefined, body: Buffer, start: number, piece: Buffer, completeLength: number): { partial: PartialContent; body: Buffer } {
  const held: HeldPart[] = partial === undefined ? [] : [...parts(partial)];
  const pieceLast = start + piece.length - 1;
  // Union of the ranges (adjacent ones join), ascending.
  const spans = [...held.map((part) => [part.first, part.last] as const), [start, pieceLast] as const].sort((a, b) => a[0] - b[0]);
  const ranges: number[] = [];
  for (const [first, last] of spans) {
    const previousLast = ranges[ranges.length - 1];
    if (previousLast !== undefined && first <= previousLast + 1) ranges[ranges.length - 1] = Math.max(previousLast, last);
    else ranges.push(first, last);
  }
  const combined: PartialContent = { completeLength, ranges };
  let total = 0;
  for (let i = 0; i < ranges.length; i += 2) total += (ranges[i + 1] as number) - (ranges[i] as number) + 1;
  const out = allocateBody(total);
  const place = (first: number, bytes: Buffer) => {
    for (const part of parts(combined)) {
      if (part.first <= first && first <= part.last) {
        bytes.copy(out, part.offset + first - part.first);
        return;
      }
    }
  };
  for (const part of held) place(part.first, body.subarray(part.offset, part.offset + part.last - part.first + 1));
  place(start, piece);
  return { partial: combined, body: out };
}

/** Whether the ranges held are the whole representation. */
export function isComplete(partial: PartialContent): boolean {
  return partial.ranges.length === 2 && partial.ranges[0] === 0 && partial.ranges[1] === partial.completeLength - 1;
}
