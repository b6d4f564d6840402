// What a simulation leaves behind: a terminal table (miss ratio and byte miss ratio per policy and
// capacity), results.json with every number, and report.html with the miss-ratio curves as inline
// SVG (Vega-Lite rendered server-side by ../charts.ts), self-contained.
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import { lines, renderSvg } from '../charts.ts';
import type { JobResult, SimulationResult } from './simulate.ts';

const ratio = (x: number) => x.toFixed(4);

function formatCapacity(capacity: number, unit: SimulationResult['unit']): string {
  if (unit === 'objects') return `${capacity.toLocaleString('en-US')} obj`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = capacity;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return i === 0 ? `${capacity} B` : `${value.toFixed(value < 10 ? 2 : 1)} ${units[i]}`;
}

/** Column heading of a capacity: the spec, the resolved size and its share of unique bytes/objects. */
function capacityHeading(result: SimulationResult, index: number): string {
  const cap = result.capacities[index]!;
  const share = `${(cap.fractionOfUnique * 100).toPrecision(3)}%`;
  return `${cap.spec}\n${formatCapacity(cap.capacity, result.trace.unitSizes ? 'objects' : result.unit)} (${share})`;
}

function cell(result: SimulationResult, policy: string, index: number): JobResult | undefined {
  const spec = result.capacities[index]!;
  return result.results.find((r) => r.policy === policy && r.capacitySpec === spec.spec && r.capacity === spec.capacity);
}

/** The terminal table: one row per policy, one column per capacity, "miss / byte miss" in cells. */
export function simulationTable(result: SimulationResult): string {
  const sized = !result.trace.unitSizes;
  const table = new Table({
    head: ['policy', ...result.capacities.map((_, i) => capacityHeading(result, i))],
    style: { head: [], border: [] },
  });
  for (const policy of result.policies) {
    table.push([
      policy,
      ...result.capacities.map((_, i) => {
        const r = cell(result, policy, i);
        if (!r) return '';
        return sized ? `${ratio(r.missRatio)} / ${ratio(r.byteMissRatio)}` : ratio(r.missRatio);
      }),
    ]);
  }
  const t = result.trace;
  const header =
    `${t.name}: ${t.requests.toLocaleString('en-US')} requests, ${t.uniqueObjects.toLocaleString('en-US')} objects, ` +
    `${formatCapacity(t.uniqueBytes, 'bytes')} unique; capacity in ${result.unit}; cells: miss ratio${sized ? ' / byte miss ratio' : ''}`;
  return `${header}\n${table.toString()}`;
}

/** The two miss-ratio curves (by requests and by bytes) as SVG strings. */
export async function missRatioCharts(result: SimulationResult): Promise<string[]> {
  const log = result.capacities.length > 2 && Math.max(...result.capacities.map((c) => c.capacity)) / Math.min(...result.capacities.map((c) => c.capacity)) >= 20;
  const xTitle = `cache size (${result.unit === 'objects' ? 'objects' : 'bytes'}, share of unique ${result.unit})`;
  const points = (pick: (r: JobResult) => number) =>
    result.results.map((r) => ({ series: r.policy, x: r.fractionOfUnique, y: pick(r) }));
  const options = { xTitle, yTitle: 'miss ratio', xScale: log ? ('log' as const) : ('linear' as const), yFormat: '.2f' };
  const xs = result.capacities.map((c) => c.fractionOfUnique);
  const chart = (title: string, pick: (r: JobResult) => number, yTitle: string) => {
    const spec = lines(title, points(pick), { ...options, yTitle }) as unknown as {
      encoding: { x: { scale: Record<string, unknown> }; color: Record<string, unknown> };
    };
    // More series than the default palette has colours, and an x axis that ends at the data.
    spec.encoding.color.scale = { scheme: 'category20' };
    spec.encoding.x.scale = { ...spec.encoding.x.scale, domain: [Math.min(...xs), Math.max(...xs)], nice: false };
    return renderSvg(spec as unknown as Parameters<typeof renderSvg>[0]);
  };
  const charts = [chart(`Miss ratio: ${result.trace.name}`, (r) => r.missRatio, 'miss ratio')];
  if (!result.trace.unitSizes) charts.push(chart(`Byte miss ratio: ${result.trace.name}`, (r) => r.byteMissRatio, 'byte miss ratio'));
  return Promise.all(charts);
}

const escapeHtml = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

export async function simulationHtml(result: SimulationResult, charts?: string[]): Promise<string> {
  charts ??= await missRatioCharts(result);
  const t = result.trace;
  const sized = !t.unitSizes;
  const rows = result.policies
    .map(
      (policy) =>
        `<tr><th>${escapeHtml(policy)}</th>${result.capacities
          .map((_, i) => {
            const r = cell(result, policy, i);
            return `<td>${r ? `${ratio(r.missRatio)}${sized ? `<br><small>${ratio(r.byteMissRatio)}</small>` : ''}` : ''}</td>`;
          })
          .join('')}</tr>`,
    )
    .join('\n');
  const head = result.capacities.map((_, i) => `<th>${escapeHtml(capacityHeading(result, i)).replace('\n', '<br>')}</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Simulation: ${escapeHtml(t.name)}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child { text-align: left; }
small { color: #777; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
</style></head><body>
<h1>Cache simulation: ${escapeHtml(t.name)}</h1>
<p>${t.requests.toLocaleString('en-US')} requests, ${t.uniqueObjects.toLocaleString('en-US')} unique objects,
${formatCapacity(t.uniqueBytes, 'bytes')} unique, ${formatCapacity(t.totalBytes, 'bytes')} requested${t.path ? ` (from <code>${escapeHtml(t.path)}</code>)` : ''}.
Capacity counted in ${result.unit}. <code>belady</code> is the lower bound (exact for object capacity, the furthest-next-use
heuristic for bytes); <code>infinite</code> has only compulsory misses.</p>
<div class="charts">${charts.map((svg) => `<figure>${svg}</figure>`).join('\n')}</div>
<h2>Miss ratio${sized ? ' (byte miss ratio below)' : ''}</h2>
<table><thead><tr><th>policy</th>${head}</tr></thead><tbody>
${rows}
</tbody></table>
<p><small>Started ${escapeHtml(result.startedAt)}, ${(result.elapsedMs / 1000).toFixed(1)} s, ${result.workers} worker(s), Node ${escapeHtml(result.node)}. Raw numbers: results.json.</small></p>
</body></html>
`;
}

/** Writes results.json, summary.txt, report.html and the charts as miss-ratio.svg (and byte-miss-ratio.svg) into `dir`. */
export async function writeSimulationReport(dir: string, result: SimulationResult): Promise<{ json: string; html: string; summary: string; charts: string[] }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'results.json');
  const html = path.join(dir, 'report.html');
  const summary = path.join(dir, 'summary.txt');
  const svgs = await missRatioCharts(result);
  const charts = svgs.map((_, i) => path.join(dir, i === 0 ? 'miss-ratio.svg' : 'byte-miss-ratio.svg'));
  await writeFile(json, `${JSON.stringify(result, null, 2)}\n`);
  await writeFile(summary, `${simulationTable(result)}\n`);
  await writeFile(html, await simulationHtml(result, svgs));
  await Promise.all(svgs.map((svg, i) => writeFile(charts[i]!, svg)));
  return { json, html, summary, charts };
}
