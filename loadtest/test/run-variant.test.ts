// The pure parts of a run's phases: the steady-state test and the timeline's points.
import test from 'ava';
import { mergeSmall, stoppedRising } from '../src/run-variant.ts';

test('timeline points under the minimum are merged with their neighbours, request-weighted', (t) => {
  const point = (requests: number, hitRatio: number, cumulativeRequests: number) => ({ phase: 'measure' as const, t: 0, requests, hitRatio, cumulativeRequests });
  const merged = mergeSmall([point(100, 0.5, 100), point(300, 0.1, 400), point(600, 0.9, 1000), point(50, 1, 1050)], 400);
  t.deepEqual(mergeSmall([point(50, 1, 50)], 400).map((p) => p.requests), [50], 'a lone short point stays');
  t.deepEqual(
    merged.map((p) => [p.requests, +p.hitRatio.toFixed(3), p.cumulativeRequests]),
    [
      [400, 0.2, 400],
      [650, +((600 * 0.9 + 50) / 650).toFixed(3), 1050],
    ],
  );
});

test('the steady-state test: a rise beyond two standard errors is still warming, noise is not', (t) => {
  // 2,000 requests each: the standard error of the difference at p = 0.5 is about 1.6 points.
  t.false(stoppedRising({ requests: 2000, hitRatio: 0.4 }, { requests: 2000, hitRatio: 0.45 }), '+5 points: still rising');
  t.true(stoppedRising({ requests: 2000, hitRatio: 0.45 }, { requests: 2000, hitRatio: 0.46 }), '+1 point: noise');
  t.true(stoppedRising({ requests: 2000, hitRatio: 0.45 }, { requests: 2000, hitRatio: 0.4 }), 'falling is not rising');
  // Larger windows resolve smaller rises.
  t.false(stoppedRising({ requests: 100_000, hitRatio: 0.45 }, { requests: 100_000, hitRatio: 0.46 }));
  // Degenerate ratios do not divide by zero.
  t.true(stoppedRising({ requests: 1000, hitRatio: 1 }, { requests: 1000, hitRatio: 1 }));
});
