import test from 'ava';
import { drawLatencyMs, type LatencyModel } from '../src/latency.ts';
import { mulberry32 } from '@cdn-lab/service-kit';

const base: LatencyModel = { distribution: 'uniform', latencyMs: 20, jitterMs: 0, sigma: 0.5, paretoAlpha: 2, maxMs: 10_000 };

function draws(model: Partial<LatencyModel>, n = 20_000, seed = 1): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => drawLatencyMs({ ...base, ...model }, random)).sort((a, b) => a - b);
}
const quantile = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

test('uniform with no jitter is fixed; with jitter stays within [latency, latency + jitter]', (t) => {
  t.deepEqual(new Set(draws({ jitterMs: 0 }, 100)), new Set([20]));
  const xs = draws({ jitterMs: 10 });
  t.is(xs[0], 20);
  t.is(xs.at(-1), 30);
  t.true(Math.abs(mean(xs) - 25) < 0.3);
});

test('normal has the configured mean and standard deviation', (t) => {
  const xs = draws({ distribution: 'normal', latencyMs: 100, jitterMs: 15 });
  const m = mean(xs);
  const sd = Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
  t.true(Math.abs(m - 100) < 0.5, `mean ${m}`);
  t.true(Math.abs(sd - 15) < 0.5, `sd ${sd}`);
});

test('lognormal has the configured median and a tail per sigma', (t) => {
  const xs = draws({ distribution: 'lognormal', latencyMs: 40, sigma: 0.5 });
  t.true(Math.abs(quantile(xs, 0.5) - 40) <= 1, `median ${quantile(xs, 0.5)}`);
  // p99 = median * exp(2.326 * 0.5) = 3.2x
  const ratio = quantile(xs, 0.99) / 40;
  t.true(ratio > 2.9 && ratio < 3.5, `p99/median ${ratio}`);
});

test('pareto never goes below its minimum and has a heavy tail, capped at maxMs', (t) => {
  const xs = draws({ distribution: 'pareto', latencyMs: 10, paretoAlpha: 2, maxMs: 500 });
  t.is(xs[0], 10);
  // p99 = 10 / 0.01^(1/2) = 100
  t.true(Math.abs(quantile(xs, 0.99) - 100) < 10, `p99 ${quantile(xs, 0.99)}`);
  t.true(xs.at(-1)! <= 500);
  t.true(draws({ distribution: 'pareto', latencyMs: 10, paretoAlpha: 0.5, maxMs: 500 }).at(-1) === 500);
});

test('the same seed gives the same delays', (t) => {
  t.deepEqual(draws({ distribution: 'lognormal' }, 50, 7), draws({ distribution: 'lognormal' }, 50, 7));
});
