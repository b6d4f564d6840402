// The comparison report opened in a real headless browser (Debian's chromium): every chart renders
// with a size, the page has no errors and needs no network.
import test from 'ava';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { writeReport } from '../src/report.ts';
import { sampleReport } from './fixtures/sample-report.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((file) => existsSync(file));

const withChromium = CHROMIUM ? test : test.skip;
if (!CHROMIUM) process.stderr.write('report-browser.test.ts: chromium is not installed (apt-get install chromium; .ci/run installs it): skipped\n');

withChromium('report.html renders every chart in headless chromium, offline, without errors', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'report-browser-'));
  const { html } = await writeReport(dir, sampleReport());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    page.on('console', (message) => message.type() === 'error' && errors.push(message.text()));
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(pathToFileURL(html).href);
    const charts = await page.$$eval('figure svg', (svgs) => svgs.map((svg) => svg.getBoundingClientRect()).map((r) => [r.width, r.height]));
    t.is(charts.length, 6);
    for (const [width, height] of charts) t.true(width! > 200 && height! > 150, `chart ${width}x${height}`);
    const rows = await page.$$eval('tbody tr th', (cells) => cells.map((c) => c.textContent?.trim()));
    t.deepEqual(rows.map((r) => r?.replace(/\s*\(!\)$/, '')), ['lru-rr', 'lru-ch']);
    const bars = await page.$$eval('figure svg path[aria-roledescription="bar"], figure svg .mark-rect path', (marks) => marks.length);
    t.true(bars > 0, 'bars were drawn');
    t.deepEqual(errors, []);
    t.true(requests.every((url) => url.startsWith('file:')), `only the file itself was loaded: ${requests.join(', ')}`);
  } finally {
    await browser.close();
  }
});
