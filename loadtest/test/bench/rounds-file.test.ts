import test from 'ava';
import { parseRoundsFile, roundsTable, RoundsFileError } from '../../src/bench/rounds-file.ts';

// Two targets, three rounds, interleaved as the harnesses write them.
const ROUNDS = ['0 requests 100 rps 100 cpu_us 20', '1 requests 90 rps 90 cpu_us 30', '0 requests 200 rps 200 cpu_us 10', '1 requests 100 rps 100 cpu_us 12', '0 requests 150 rps 150 cpu_us 20', '1 requests 120 rps 120 cpu_us 20', ''].join('\n');

test('rounds file: measurements grouped by target, in round order', (t) => {
  const byTarget = parseRoundsFile(ROUNDS);
  t.is(byTarget.length, 2);
  t.deepEqual(byTarget[1]!.map((r) => r.rps), [90, 100, 120]);
  t.deepEqual(byTarget[0]![2], { requests: 150, rps: 150, cpu_us: 20 });
});

test('rounds table: medians with min-max, ratios to the first target paired by round', (t) => {
  const table = roundsTable(parseRoundsFile(ROUNDS), ['nginx', 'edge']);
  const row = (name: string) => table.split('\n').find((line) => line.includes(name))!.split('│').map((c) => c.trim());
  t.deepEqual(row('edge').slice(1, 4), ['edge', '100 (90-120)', '20.00 (12.00-30.00)']);
  // rps per round 0.9, 0.5, 0.8: median 0.8, where the ratio of medians would say 100/150.
  t.deepEqual(row('÷ nginx').slice(1, 4), ['÷ nginx', 'x0.800 (0.500-0.900)', 'x1.200 (1.000-1.500)']);
  t.false(table.includes('requests'), 'the request count is not a column');
});

test('rounds file: a bad line is refused with its number and what is wrong', (t) => {
  t.throws(() => parseRoundsFile('0 rps 1\nx rps 2'), { instanceOf: RoundsFileError, message: /line 2 .*not a target index/ });
  t.throws(() => parseRoundsFile('0 rps'), { instanceOf: RoundsFileError, message: /line 1 .*"name value" pairs/ });
  t.throws(() => parseRoundsFile('0 rps fast'), { instanceOf: RoundsFileError, message: /rps is "fast", not a number/ });
  t.throws(() => parseRoundsFile('1 rps 2'), { instanceOf: RoundsFileError, message: /no measurements of target 0/ });
  t.throws(() => parseRoundsFile('\n'), { instanceOf: RoundsFileError, message: /no measurements/ });
});
