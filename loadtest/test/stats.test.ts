import test from 'ava';
import { disagree, distinct, summarize } from '../src/stats.ts';

test('three runs: a t interval on the log scale for positive figures, plain t for ratios', (t) => {
  const s = summarize([10, 12, 14]);
  t.is(s.mean, 12);
  t.is(s.stdev, 2);
  t.is(s.method, 'log-t');
  const logs = [10, 12, 14].map(Math.log);
  const logMean = logs.reduce((a, b) => a + b) / 3;
  const logSd = Math.sqrt(logs.reduce((a, v) => a + (v - logMean) ** 2, 0) / 2);
  t.true(Math.abs(s.low - Math.exp(logMean - (4.303 * logSd) / Math.sqrt(3))) < 1e-9);
  t.true(Math.abs(s.high - Math.exp(logMean + (4.303 * logSd) / Math.sqrt(3))) < 1e-9);
  const r = summarize([0.5, 0.52, 0.54], 'ratio');
  t.is(r.method, 't');
  t.true(Math.abs(r.high - r.low - (2 * 4.303 * 0.02) / Math.sqrt(3)) < 1e-9);
  t.is(s.min, 10);
  t.is(s.max, 14);
  t.true(Number.isNaN(summarize([]).mean));
});

test('fewer than three runs: the range for two, nothing for one', (t) => {
  t.like(summarize([5]), { method: 'none', low: 5, high: 5 });
  t.like(summarize([914, 2000]), { method: 'min-max', low: 914, high: 2000 });
});

test('an interval never reaches below zero (or above one for a ratio)', (t) => {
  // Widely spread positive values: the plain t interval would go far below zero.
  const latency = summarize([1, 2, 400]);
  t.true(latency.low > 0, `low ${latency.low}`);
  const ratio = summarize([0.01, 0.02, 0.9], 'ratio');
  t.is(ratio.method, 't-clamped');
  t.is(ratio.low, 0);
  const nearOne = summarize([0.99, 0.999, 0.5], 'ratio');
  t.is(nearOne.high, 1);
  const withZero = summarize([0, 0, 9]);
  t.is(withZero.method, 't-clamped');
  t.is(withZero.low, 0);
});

test('distinct and disagree', (t) => {
  const a = summarize([0.5, 0.51, 0.49], 'ratio');
  const b = summarize([0.6, 0.61, 0.59], 'ratio');
  t.true(distinct(a, b));
  t.false(distinct(a, summarize([0.5, 0.52, 0.5], 'ratio')));
  t.false(distinct(summarize([0.5]), summarize([0.9])), 'one run resolves nothing');
  t.false(disagree(a, 0, 0.03));
  t.true(disagree(a, 0, 0.01));
  t.true(disagree(summarize([100, 200, 50]), 0.1));
  t.false(disagree(summarize([100]), 0.1));
});
