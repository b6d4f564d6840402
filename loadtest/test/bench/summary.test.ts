import test from 'ava';
import { median, pairedRatios, rotate, spread } from '../../src/bench/summary.ts';

test('median of odd and even counts, unsorted input left alone', (t) => {
  const input = [9, 1, 5];
  t.is(median(input), 5);
  t.deepEqual(input, [9, 1, 5]);
  t.is(median([4, 1, 3, 2]), 2.5);
  t.is(median([7]), 7);
  t.true(Number.isNaN(median([])));
});

test('spread leaves out failed (NaN) rounds', (t) => {
  t.deepEqual(spread([30, NaN, 10, 20]), { n: 3, median: 20, min: 10, max: 30 });
  const none = spread([NaN]);
  t.is(none.n, 0);
  t.true(Number.isNaN(none.median));
});

test('pairedRatios divides round by round and skips rounds missing either side', (t) => {
  t.deepEqual(pairedRatios([10, 20, 30], [20, 20, 60]), [0.5, 1, 0.5]);
  t.deepEqual(pairedRatios([10, NaN, 30], [20, 20, 0]), [0.5]);
  t.deepEqual(pairedRatios([10, 20], [5]), [2]);
});

test('rotate starts round r with the r-th item and wraps', (t) => {
  const items = ['nginx', 'varnish', 'edge'];
  t.deepEqual(rotate(items, 0), items);
  t.deepEqual(rotate(items, 1), ['varnish', 'edge', 'nginx']);
  t.deepEqual(rotate(items, 4), rotate(items, 1));
  t.deepEqual(rotate([], 2), []);
  // Over as many rounds as items, every item is first exactly once.
  const firsts = [0, 1, 2].map((r) => rotate(items, r)[0]);
  t.deepEqual([...firsts].sort(), [...items].sort());
});
