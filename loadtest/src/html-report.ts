// The comparison report people read: one self-contained HTML page (inline SVG charts, a table,
// the notes), written beside results.json.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { columnBars, lines, renderSvg, type BarDatum, type LineDatum, type Marker } from './charts.ts';
import { describePhases } from './comparison.ts';
import { INTERVAL_WORDS } from './stats.ts';
import { LIVE_SIM_TOLERANCE } from './live-vs-sim.ts';
import { rankingNotes, type ComparisonReport, type VariantSummary } from './report.ts';

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function ratioBars(variants: VariantSummary[]): BarDatum[] {
  return variants.flatMap((v) => [
    { group: v.name, series: 'hit ratio', value: v.figures.hitRatio.mean, interval: v.figures.hitRatio },
    ...(v.liveMinusSimulated === null ? [] : [{ group: v.name, series: 'simulated hit ratio', value: v.figures.simulatedHitRatio.mean }]),
    ...(Number.isNaN(v.figures.beladyHitRatio.mean) ? [] : [{ group: v.name, series: 'Belady hit ratio (offline bound)', value: v.figures.beladyHitRatio.mean }]),
    { group: v.name, series: 'byte hit ratio', value: v.figures.byteHitRatio.mean, interval: v.figures.byteHitRatio },
    { group: v.name, series: 'origin offload', value: v.figures.originOffload.mean, interval: v.figures.originOffload },
  ]);
}

function latencyBars(variants: VariantSummary[]): BarDatum[] {
  return variants.flatMap((v) =>
    (['p50Ms', 'p95Ms', 'p99Ms'] as const).map((figure) => ({
      group: v.name,
      series: figure.replace('Ms', ''),
      value: v.figures[figure].mean,
      interval: v.figures[figure],
    })),
  );
}

/** The latency CDF of each variant, averaging each percentile over its runs. */
function latencyCdf(variants: VariantSummary[]): LineDatum[] {
  return variants.flatMap((v) => {
    const points = v.runs[0]?.client.latencyCdf ?? [];
    return points.map(([percentile], i) => ({
      series: v.name,
      x: v.runs.reduce((sum, run) => sum + (run.client.latencyCdf[i]?.[1] ?? 0), 0) / v.runs.length,
      y: percentile / 100,
    }));
  });
}

/** Each edge's share of client requests, per variant (from run 1): how evenly the balancer spreads load. */
function edgeShares(variants: VariantSummary[]): BarDatum[] {
  return variants.flatMap((v) => {
    const perEdge = v.runs[0]?.cache.perEdge ?? [];
    const total = perEdge.reduce((sum, e) => sum + e.requests, 0) || 1;
    return perEdge.map((e) => ({ group: v.name, series: e.edge, value: e.requests / total }));
  });
}

/** Hit ratio through warm-up and measurement against requests served (run 1), and where measurement began. */
function timeline(variants: VariantSummary[]): { data: LineDatum[]; markers: Marker[] } {
  const data = variants.flatMap((v) => (v.runs[0]?.timeline ?? []).map((p) => ({ series: v.name, x: p.cumulativeRequests, y: p.hitRatio })));
  const starts = [...new Set(variants.map((v) => v.runs[0]?.warmupRequests ?? 0))];
  const markers = starts.length === 1 ? [{ x: starts[0]!, label: 'measurement starts' }] : variants.map((v) => ({ x: v.runs[0]?.warmupRequests ?? 0, label: `${v.name}: measuring` }));
  return { data, markers };
}

function tableHtml(report: ComparisonReport): string {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const rows = report.variants.map((v) => {
    const f = v.figures;
    const ci = (s: { mean: number; low: number; high: number; method: string }, fmt: (x: number) => string) =>
      `${fmt(s.mean)}${s.method === 'none' ? '' : ` <small>(${fmt(s.low)}–${fmt(s.high)})</small>`}`;
    return `<tr${v.unstable.length ? ' class="unstable"' : ''}><th>${escapeHtml(v.name)}${v.unstable.length ? ` <small title="runs disagree on ${v.unstable.join(', ')}">(!)</small>` : ''}</th>
<td>${ci(f.requestsPerSecond, (x) => Math.round(x).toLocaleString('en-US'))}</td><td>${ci(f.hitRatio, pct)}</td>
<td>${v.liveMinusSimulated === null ? 'n/a' : `${pct(f.simulatedHitRatio.mean)}${v.liveAgreesWithSimulated ? '' : ' <b title="differs from live by more than the tolerance">(!)</b>'}`}</td><td>${ci(f.byteHitRatio, pct)}</td>
<td>${Math.round(f.originRequests.mean).toLocaleString('en-US')}</td><td>${pct(f.originOffload.mean)}</td>
<td>${f.p50Ms.mean.toFixed(2)}</td><td>${f.p95Ms.mean.toFixed(2)}</td><td>${f.p99Ms.mean.toFixed(2)}</td>
<td>${Math.round(f.errors.mean * f.errors.n)}</td><td>${v.countsAgree ? 'agree' : '<b>DISAGREE</b>'}</td></tr>`;
  });
  return `<table><thead><tr><th>variant</th><th>req/s</th><th>hit ratio</th><th>simulated hit ratio</th><th>byte hit ratio</th><th>origin requests</th><th>origin offload</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th><th>errors</th><th>edge vs origin counts</th></tr></thead><tbody>${rows.join('\n')}</tbody></table>`;
}

/** The report's charts as standalone SVG documents, by file name. */
export async function renderCharts(report: ComparisonReport): Promise<{ file: string; svg: string }[]> {
  const { variants } = report;
  const svgs = await Promise.all([
    renderSvg(columnBars('Cache effectiveness (edges\' and origin\'s own counters)', ratioBars(variants), { yTitle: 'ratio', format: '.0%' })),
    renderSvg(
      columnBars(
        'Throughput through the balancer',
        variants.map((v) => ({ group: v.name, series: 'requests/s', value: v.figures.requestsPerSecond.mean, interval: v.figures.requestsPerSecond })),
        { yTitle: 'requests/s', format: ',.0f' },
      ),
    ),
    renderSvg(columnBars('Client latency percentiles', latencyBars(variants), { yTitle: 'ms', format: ',~g' })),
    renderSvg(lines('Client latency CDF', latencyCdf(variants), { xTitle: 'latency (ms, log scale)', yTitle: 'share of requests', xScale: 'log', yFormat: '.0%' })),
    renderSvg(columnBars('Load balance: each edge\'s share of requests (run 1)', edgeShares(variants), { yTitle: 'share', format: '.0%' })),
    renderSvg(
      lines('Hit ratio through warm-up and measurement (run 1)', timeline(variants).data, {
        xTitle: 'requests served',
        yTitle: 'hit ratio',
        yFormat: '.0%',
        xFormat: ',.0f',
        markers: timeline(variants).markers,
      }),
    ),
  ]);
  return CHART_FILES.map((file, i) => ({ file, svg: svgs[i]! }));
}

const CHART_FILES = ['cache-effectiveness.svg', 'throughput.svg', 'latency-percentiles.svg', 'latency-cdf.svg', 'edge-load.svg', 'hit-ratio-over-time.svg'];

export async function renderHtmlReport(report: ComparisonReport, rendered?: { svg: string }[]): Promise<string> {
  const { comparison } = report;
  const charts = (rendered ?? (await renderCharts(report))).map((chart) => chart.svg);
  const w = comparison.workload;
  const env = report.environment;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdn-lab: ${escapeHtml(comparison.name)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#222;padding:0 1rem}
table{border-collapse:collapse;margin:1rem 0;font-size:.9rem}th,td{border-bottom:1px solid #ddd;padding:.3rem .6rem;text-align:right}
thead th{background:#f4f4f4}tbody th{text-align:left}tr.unstable{background:#fff6e0}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(560px,1fr));gap:1.5rem}figure{margin:0}
code{background:#f4f4f4;padding:0 .2rem}small{color:#666}
</style></head><body>
<h1>cdn-lab comparison: ${escapeHtml(comparison.name)}</h1>
<p>${escapeHtml(comparison.description)}</p>
<p><small>Workload <code>${escapeHtml(JSON.stringify(w))}</code>; ${comparison.variants.length} variants × ${comparison.repetitions} run(s),
each on a fresh lab: ${escapeHtml(describePhases(comparison))}.
Started ${escapeHtml(report.startedAt)}; Node ${escapeHtml(env.node)} on ${escapeHtml(env.platform)}, ${env.cpus} CPUs, commit ${escapeHtml(env.commit ?? 'unknown')}.</small></p>
${tableHtml(report)}
<p><small>Brackets: ${escapeHtml([...new Set(report.variants.map((v) => INTERVAL_WORDS[v.figures.hitRatio.method]))].join('; '))}.
Latency: ${report.variants[0]?.runs[0]?.client.latencyMode === 'open-loop' ? 'open loop, timed from each request\'s intended send time' : 'closed loop, timed from each send'}.
${escapeHtml(rankingNotes(report).join('. '))}${rankingNotes(report).length ? '.' : ''} Hit ratio counts responses the edges answered from cache without a fetch of their own (hit, stale, revalidated, or collapsed onto another request's fetch);
origin offload is 1 − origin requests ÷ client requests, from the origin's own counter. (!) marks a variant whose runs disagree beyond tolerance.
Simulated hit ratio: the same request streams replayed offline through the same policy code, one cache per edge, split across edges as the balancer does;
(!) when it differs from the live figure by more than ${LIVE_SIM_TOLERANCE * 100} points.
Raw figures: <a href="results.json">results.json</a>.</small></p>
<div class="charts">${charts.map((svg) => `<figure>${svg}</figure>`).join('\n')}</div>
</body></html>
`;
}

/** Writes report.html and, beside it, each chart as its own SVG in charts/. */
export async function writeHtmlReport(dir: string, report: ComparisonReport): Promise<string> {
  const charts = await renderCharts(report);
  await mkdir(path.join(dir, 'charts'), { recursive: true });
  await Promise.all(charts.map((chart) => writeFile(path.join(dir, 'charts', chart.file), chart.svg)));
  const file = path.join(dir, 'report.html');
  await writeFile(file, await renderHtmlReport(report, charts));
  return file;
}
