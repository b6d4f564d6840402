import test from 'ava';
import { mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { renderHtmlReport } from '../src/html-report.ts';
import { summaryTable, writeReport, type ComparisonReport } from '../src/report.ts';
import { sampleReport } from './fixtures/sample-report.ts';

test('variants summarise their runs and flag disagreeing ones', (t) => {
  const [stable, unstable] = sampleReport().variants;
  t.is(stable!.figures.hitRatio.n, 2);
  t.true(Math.abs(stable!.figures.hitRatio.mean - 0.61) < 1e-9);
  t.deepEqual(stable!.unstable, []);
  t.true(unstable!.unstable.includes('hitRatio'));
  t.true(unstable!.unstable.includes('requestsPerSecond'));
});

test('the terminal table shows every variant with intervals and the flag', (t) => {
  const table = summaryTable(sampleReport());
  t.regex(table, /lru-rr/);
  t.regex(table, /lru-ch \(!\)/);
  // Two runs: the range, not a t interval (which would reach from -2,000 to +5,000 here).
  t.regex(table, /61\.0% \(60\.0–62\.0%\)/);
  t.regex(table, /2,050 \(2,000–2,100\)/);
  t.regex(table, /brackets: two runs: the range of the runs/);
  t.regex(table, /runs disagree on .*hitRatio/);
  t.regex(table, /closed loop/);
  t.regex(table, /lru-rr: warm-up 10,000, 10,500 requests; measured 20,000, 21,000/);
  // lru-ch's runs span 40-80%: its range overlaps lru-rr's, so the two are not ranked.
  t.regex(table, /hit ratio: highest lru-rr \(61\.0%\), but no variant differs significantly from it/);
});

test('the HTML report is self-contained with six charts and the table', async (t) => {
  const html = await renderHtmlReport(sampleReport());
  t.is(html.match(/<svg/g)?.length, 6);
  t.regex(html, /<table>/);
  t.regex(html, /lru-ch/);
  t.notRegex(html, /<script/);
  t.notRegex(html, /src="http/);
});

test('writeReport writes results.json, summary.txt and report.html', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'report-'));
  const files = await writeReport(dir, sampleReport());
  const json = JSON.parse(await readFile(files.json, 'utf8')) as ComparisonReport;
  t.is(json.variants.length, 2);
  t.is(json.variants[0]!.runs.length, 2);
  t.regex(await readFile(files.summary, 'utf8'), /lru-rr/);
  t.regex(await readFile(files.html, 'utf8'), /<svg/);
  t.regex(await readFile(path.join(dir, 'charts', 'cache-effectiveness.svg'), 'utf8'), /^<svg/);
});
