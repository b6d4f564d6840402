// Unit tests of the partial-entry arithmetic (src/partial-content.ts) and Content-Range parsing.
import test from 'ava';
import { parseContentRange, parseSingleRange } from '../src/http/range.ts';
import { addPart, alignToSlices, heldBytes, isComplete, missingCover } from '../src/partial-content.ts';

test('parseContentRange: a single part with or without its complete length; anything else is refused (RFC 9110 §14.4)', (t) => {
  t.deepEqual(parseContentRange('bytes 10-19/90'), { start: 10, end: 19, completeLength: 90 });
  t.deepEqual(parseContentRange('bytes 0-0/*'), { start: 0, end: 0, completeLength: undefined });
  for (const value of [undefined, 'bytes */90', 'bytes 19-10/90', 'bytes 80-90/90', 'items 0-1/2', 'bytes 0-1/2, 4-5/6', 'bytes 0-/9']) {
    t.is(parseContentRange(value), undefined, String(value));
  }
});

test('parseSingleRange: one byte range as first/last; several, malformed or other units are none', (t) => {
  t.deepEqual(parseSingleRange('bytes=5-9'), { first: 5, last: 9 });
  t.deepEqual(parseSingleRange('bytes=5-'), { first: 5, last: undefined });
  t.deepEqual(parseSingleRange('bytes=-5'), { first: undefined, last: 5 });
  for (const value of [undefined, 'bytes=9-5', 'bytes=-', 'bytes=0-1,4-5', 'items=0-1']) t.is(parseSingleRange(value), undefined, String(value));
});

test('missingCover: the one range covering every byte not held, held bytes between gaps included', (t) => {
  const partial = { completeLength: 100, ranges: [10, 19, 40, 49] };
  t.deepEqual(missingCover(undefined, 5, 9), { start: 5, end: 9 });
  t.is(missingCover(partial, 12, 18), undefined);
  t.is(missingCover(partial, 40, 49), undefined);
  t.deepEqual(missingCover(partial, 15, 25), { start: 20, end: 25 });
  t.deepEqual(missingCover(partial, 5, 15), { start: 5, end: 9 });
  t.deepEqual(missingCover(partial, 0, 99), { start: 0, end: 99 });
  t.deepEqual(missingCover(partial, 10, 60), { start: 20, end: 60 });
  t.deepEqual(missingCover(partial, 15, 45), { start: 20, end: 39 });
});

test('alignToSlices: outward to whole slices from byte 0, cut at the known length', (t) => {
  t.deepEqual(alignToSlices(12, 17, 10, undefined), { start: 10, end: 19 });
  t.deepEqual(alignToSlices(10, 20, 10, undefined), { start: 10, end: 29 });
  t.deepEqual(alignToSlices(80, 95, 10, 90), { start: 80, end: 89 });
  t.deepEqual(alignToSlices(0, 0, 1, 5), { start: 0, end: 0 });
});

test('addPart: ranges united (adjacent ones too), bytes placed by position, complete when all are held', (t) => {
  const whole = Buffer.from('abcdefghijklmnopqrstuvwxyz');
  const part = (first: number, last: number) => whole.subarray(first, last + 1);
  let held = addPart(undefined, Buffer.alloc(0), 10, part(10, 14), 26);
  t.deepEqual(held.partial.ranges, [10, 14]);
  held = addPart(held.partial, held.body, 0, part(0, 3), 26);
  t.deepEqual(held.partial.ranges, [0, 3, 10, 14]);
  t.is(held.body.toString(), 'abcdklmno');
  t.is(heldBytes(held.partial, held.body, 11, 13)?.toString(), 'lmn');
  t.is(heldBytes(held.partial, held.body, 3, 10), undefined, 'spans a gap');
  held = addPart(held.partial, held.body, 4, part(4, 9), 26);
  t.deepEqual(held.partial.ranges, [0, 14], 'adjacent parts join');
  held = addPart(held.partial, held.body, 12, part(12, 25), 26);
  t.deepEqual(held.partial.ranges, [0, 25]);
  t.is(held.body.toString(), whole.toString(), 'an overlapping part lands on its own bytes');
  t.true(isComplete(held.partial));
  t.false(isComplete({ completeLength: 26, ranges: [0, 24] }));
});
