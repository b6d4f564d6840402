import test from 'ava';
import { formatSpread, generatorCeilingLine, edgeReferenceLines, summarize, summaryTable } from '../../src/bench/report.ts';
import type { Measurement } from '../../src/bench/run.ts';
import type { LoadResult } from '../../src/bench/wrk.ts';

function load(requestsPerSec: number, p99: number): LoadResult {
  return {
    requests: requestsPerSec * 5,
    durationS: 5,
    requestsPerSec,
    bytesPerSec: 0,
    latencyMs: { avg: p99 / 2, p50: p99 / 2, p75: p99 / 2, p90: p99 / 2, p99, max: p99 },
    non2xx: 0,
    errors: 0,
    timeouts: 0,
  };
}

function m(round: number, scenario: Measurement['scenario'], target: Measurement['target'], rps: number, p99: number, originRequests = 0): Measurement {
  return { round, scenario, target, position: 0, ok: true, load: load(rps, p99), originRequests };
}

test('medians with min-max over rounds, ratios paired by round against nginx', (t) => {
  const rows = summarize(
    [
      m(0, 'hits-1k', 'nginx', 100, 2),
      m(0, 'hits-1k', 'edge', 90, 2),
      m(1, 'hits-1k', 'nginx', 200, 2),
      m(1, 'hits-1k', 'edge', 100, 6),
      m(2, 'hits-1k', 'nginx', 150, 4),
      m(2, 'hits-1k', 'edge', 120, 4),
    ],
    3,
  );
  const edge = rows.find((r) => r.target === 'edge')!;
  t.deepEqual(edge.requestsPerSec, { n: 3, median: 100, min: 90, max: 120 });
  // Per round: 0.9, 0.5, 0.8; the ratio of medians (100/150) would differ.
  t.deepEqual(edge.throughputVsBaseline, { n: 3, median: 0.8, min: 0.5, max: 0.9 });
  t.deepEqual(edge.p99VsBaseline, { n: 3, median: 1, min: 1, max: 3 });
  t.deepEqual(edge.goal, { text: '>= 0.8x req/s, p99 <= 2x', met: true });
  const nginx = rows.find((r) => r.target === 'nginx')!;
  t.deepEqual(nginx.throughputVsBaseline?.median, 1);
  t.is(nginx.goal, undefined);
});

test('failed rounds are counted and left out, and the goal follows the scenario', (t) => {
  const failed: Measurement = { round: 1, scenario: 'misses', target: 'edge', position: 1, ok: false, error: 'edge exited' };
  const rows = summarize(
    [
      m(0, 'misses', 'nginx', 1000, 10, 5000),
      m(0, 'misses', 'edge', 600, 10, 3000),
      m(1, 'misses', 'nginx', 1000, 10, 5000),
      failed,
      m(1, 'misses', 'origin', 2000, 5, 10_000),
    ],
    2,
  );
  const edge = rows.find((r) => r.target === 'edge')!;
  t.is(edge.failed, 1);
  t.is(edge.requestsPerSec.n, 1);
  t.deepEqual(edge.goal, { text: '>= 0.7x req/s, p99 <= 3x', met: false });
  t.is(edge.originPerRequest.median, 1);
  const origin = rows.find((r) => r.target === 'origin')!;
  t.is(origin.throughputVsBaseline?.median, 2);
});

test('rounds with timeouts stay in the medians and are flagged', (t) => {
  const slow: Measurement = { ...m(1, 'misses', 'edge', 100, 2000), warning: '34 requests timed out' };
  const rows = summarize([m(0, 'misses', 'edge', 300, 100), slow], 2);
  t.is(rows[0]!.requestsPerSec.n, 2);
  t.is(rows[0]!.requestsPerSec.median, 200);
  t.is(rows[0]!.withTimeouts, 1);
  t.regex(summaryTable(rows), /edge \(1 with timeouts\)/);
});

test('without nginx there are no ratios and no goals', (t) => {
  const rows = summarize([m(0, 'hits-64k', 'edge', 100, 1), m(0, 'hits-64k', 'varnish', 80, 1)], 1);
  t.is(rows.length, 2);
  t.true(rows.every((r) => r.throughputVsBaseline === undefined && r.goal === undefined));
});

test('formatting: median (min-max), a lone value, nothing', (t) => {
  t.is(formatSpread({ n: 3, median: 1.5, min: 1, max: 2 }, 2, 'x'), '1.50x (1.00-2.00)');
  t.is(formatSpread({ n: 1, median: 12345.4, min: 12345.4, max: 12345.4 }, 0), '12345');
  t.is(formatSpread({ n: 0, median: NaN, min: NaN, max: NaN }, 0), '-');
  t.is(formatSpread(undefined, 0), '-');
  const table = summaryTable(summarize([m(0, 'hits-1k', 'nginx', 100, 2), m(0, 'hits-1k', 'edge', 50, 2)], 1));
  t.regex(table, /edge .*0\.50x/);
  t.regex(table, /NOT met/);
  // Plain text: no ANSI colour codes in what goes to summary.txt.
  t.false(table.includes('\u001b['));
});

test('the generator ceiling line compares the best median rate with the ceiling', (t) => {
  const rows = summarize([m(0, 'hits-1k', 'nginx', 10_000, 2), m(0, 'hits-1k', 'edge', 20_000, 2)], 1);
  const line = generatorCeilingLine({ what: 'wrk against nginx static', load: load(40_000, 3) }, rows);
  t.regex(line, /wrk against nginx static: 40000 req\/s, p99 3\.00 ms; the best median above is 50% of it/);
});

test('every target is also paired against bare-node, the node:http floor, and the edge against nginx-nolog, when they ran', (t) => {
  const rows = summarize(
    [
      m(0, 'hits-64k', 'nginx', 100, 2),
      m(0, 'hits-64k', 'edge', 70, 3),
      m(0, 'hits-64k', 'bare-node', 75, 2),
      m(1, 'hits-64k', 'nginx', 100, 2),
      m(1, 'hits-64k', 'edge', 72, 3),
      m(1, 'hits-64k', 'bare-node', 80, 4),
      m(0, 'hits-64k', 'nginx-nolog', 140, 1),
      m(1, 'hits-64k', 'nginx-nolog', 144, 1.5),
      m(0, 'misses', 'nginx', 10, 20),
      m(0, 'misses', 'edge', 8, 20),
    ],
    2,
  );
  const edge = rows.find((r) => r.target === 'edge' && r.scenario === 'hits-64k')!;
  t.deepEqual(edge.throughputVsNodeFloor, { n: 2, median: (70 / 75 + 72 / 80) / 2, min: 72 / 80, max: 70 / 75 });
  // p99 per round: 3/2 and 3/4, so 1.125 (0.75-1.5).
  t.deepEqual(edge.p99VsNodeFloor, { n: 2, median: 1.125, min: 0.75, max: 1.5 });
  t.deepEqual(rows.find((r) => r.target === 'nginx' && r.scenario === 'hits-64k')!.throughputVsNodeFloor, { n: 2, median: (100 / 75 + 100 / 80) / 2, min: 100 / 80, max: 100 / 75 });
  t.is(rows.find((r) => r.target === 'edge' && r.scenario === 'misses')!.throughputVsNodeFloor, undefined, 'no bare-node in that scenario');
  t.deepEqual(edge.edgeVersus?.map((v) => [v.target, v.throughput]), [['nginx-nolog', { n: 2, median: 0.5, min: 0.5, max: 0.5 }]]);
  t.is(rows.find((r) => r.target === 'nginx' && r.scenario === 'hits-64k')!.edgeVersus, undefined, 'only the edge gets those lines');
  t.deepEqual(edgeReferenceLines(rows), ['edge ÷ nginx-nolog (access_log off; paired by round): hits-64k req/s 0.50x (0.50-0.50), p99 2.50x (2.00-3.00)']);
  t.deepEqual(edgeReferenceLines(rows.filter((r) => r.scenario === 'misses')), []);
  t.regex(summaryTable(rows), /bare-node .* 1 /);
});

test("CPU per request: the target's, and for misses the origin's beside it", (t) => {
  const withCpu = (x: Measurement, cpu: number, origin?: number): Measurement => ({ ...x, cpuUsPerRequest: cpu, ...(origin === undefined ? {} : { originCpuUsPerRequest: origin }) });
  const rows = summarize([withCpu(m(0, 'misses', 'edge', 100, 2, 500), 150, 90), withCpu(m(1, 'misses', 'edge', 100, 2, 500), 170, 110), withCpu(m(0, 'hits-1k', 'edge', 100, 2), 40)], 2);
  const misses = rows.find((r) => r.scenario === 'misses')!;
  t.deepEqual(misses.cpuUsPerRequest, { n: 2, median: 160, min: 150, max: 170 });
  t.deepEqual(misses.originCpuUsPerRequest, { n: 2, median: 100, min: 90, max: 110 });
  const table = summaryTable(rows);
  t.regex(table, /160\.0 \(150\.0-170\.0\) \+ origin 100\.0 \(90\.0-110\.0\)/);
  t.regex(table, /hits-1k .* 40\.0 /);
});
