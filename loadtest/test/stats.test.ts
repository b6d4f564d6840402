import test from 'ava';
import { disagree, distinct, summarize } from '../src/stats.ts';

test('summarize computes mean, sample stdev and the t-based interval', (t) => {
  const s = summarize([10, 12, 14]);
  t.is(s.mean, 12);
  t.is(s.stdev, 2);
  // t(0.975, 2) = 4.303; 4.303 * 2 / sqrt(3)
  t.true(Math.abs(s.ci95 - (4.303 * 2) / Math.sqrt(3)) < 1e-9);
  t.is(s.min, 10);
  t.is(s.max, 14);
  t.is(summarize([5]).ci95, 0);
  t.true(Number.isNaN(summarize([]).mean));
});

test('distinct and disagree', (t) => {
  const a = summarize([0.5, 0.51, 0.49]);
  const b = summarize([0.6, 0.61, 0.59]);
  t.true(distinct(a, b));
  t.false(distinct(a, summarize([0.5, 0.52, 0.5])));
  t.false(disagree(a, 0, 0.03));
  t.true(disagree(a, 0, 0.01));
  t.true(disagree(summarize([100, 200, 50]), 0.1));
  t.false(disagree(summarize([100]), 0.1));
});
