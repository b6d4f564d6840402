import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseComparison } from '../src/comparison.ts';
import { renderHtmlReport } from '../src/html-report.ts';
import { summarizeVariant, summaryTable, writeReport, type ComparisonReport } from '../src/report.ts';
import type { VariantResult } from '../src/run-variant.ts';

const comparison = parseComparison({ name: 'unit', repetitions: 2, variants: [{ name: 'lru-rr' }, { name: 'lru-ch' }] });

function run(name: string, hitRatio: number, rps: number): VariantResult {
  return {
    name,
    topology: comparison.variants[0]!.topology,
    workload: comparison.workload,
    client: {
      requests: rps * 10,
      durationSeconds: 10,
      requestsPerSecond: rps,
      bytes: 1e6,
      errors: 0,
      statusClasses: { '2xx': rps * 10, '3xx': 0, '4xx': 0, '5xx': 0 },
      latencyMs: { p50: 1, p95: 20, p99: 25, max: 40, mean: 5 },
      latencyCdf: [
        [50, 1],
        [95, 20],
        [100, 40],
      ],
    },
    cache: {
      edgeRequests: rps * 10,
      hitRatio,
      byteHitRatio: hitRatio - 0.1,
      originRequests: Math.round(rps * 10 * (1 - hitRatio)),
      edgeToOriginRequests: Math.round(rps * 10 * (1 - hitRatio)),
      originOffload: hitRatio,
      originBytes: 1000,
      countsAgree: true,
      perEdge: [
        { edge: 'edge-0', requests: rps * 5, hitRatio, cacheBytes: 100, evictions: 3 },
        { edge: 'edge-1', requests: rps * 5, hitRatio, cacheBytes: 100, evictions: 3 },
      ],
    },
    timeline: [
      { t: 1, requests: rps, hitRatio: hitRatio - 0.05 },
      { t: 2, requests: rps, hitRatio },
    ],
    services: [],
  };
}

function report(): ComparisonReport {
  return {
    comparison,
    startedAt: '2026-11-23T00:00:00Z',
    finishedAt: '2026-11-23T00:01:00Z',
    environment: { node: 'v20', platform: 'linux-x64', cpus: 2, commit: 'abc', cdnLab: '0.1.0' },
    variants: [
      summarizeVariant('lru-rr', [run('lru-rr', 0.6, 2000), run('lru-rr', 0.62, 2100)]),
      summarizeVariant('lru-ch', [run('lru-ch', 0.8, 2000), run('lru-ch', 0.4, 900)]),
    ],
  };
}

test('variants summarise their runs and flag disagreeing ones', (t) => {
  const [stable, unstable] = report().variants;
  t.is(stable!.figures.hitRatio.n, 2);
  t.true(Math.abs(stable!.figures.hitRatio.mean - 0.61) < 1e-9);
  t.deepEqual(stable!.unstable, []);
  t.true(unstable!.unstable.includes('hitRatio'));
  t.true(unstable!.unstable.includes('requestsPerSecond'));
});

test('the terminal table shows every variant with intervals and the flag', (t) => {
  const table = summaryTable(report());
  t.regex(table, /lru-rr/);
  t.regex(table, /lru-ch \(!\)/);
  t.regex(table, /61\.0% ±/);
  t.regex(table, /runs disagree on .*hitRatio/);
});

test('the HTML report is self-contained with six charts and the table', async (t) => {
  const html = await renderHtmlReport(report());
  t.is(html.match(/<svg/g)?.length, 6);
  t.regex(html, /<table>/);
  t.regex(html, /lru-ch/);
  t.notRegex(html, /<script/);
  t.notRegex(html, /src="http/);
});

test('writeReport writes results.json, summary.txt and report.html', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'report-'));
  const files = await writeReport(dir, report());
  const json = JSON.parse(await readFile(files.json, 'utf8')) as ComparisonReport;
  t.is(json.variants.length, 2);
  t.is(json.variants[0]!.runs.length, 2);
  t.regex(await readFile(files.summary, 'utf8'), /lru-rr/);
  t.regex(await readFile(files.html, 'utf8'), /<svg/);
});
