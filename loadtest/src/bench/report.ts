// From raw measurements to what a reader needs: per scenario and target the median with min-max
// over rounds, the ratios to nginx and to bare-node paired by round, CPU per request, and whether
// the edge meets the goals (issues 8 and 20).
import Table from 'cli-table3';
import type { MemoryResult } from './memory.ts';
import type { TargetName } from './proxies.ts';
import type { GeneratorCeiling, Measurement } from './run.ts';
import { HTTP_SCENARIOS, type HttpScenario } from './scenarios.ts';
import { pairedRatios, spread, type Spread } from './summary.ts';

/**
 * What the goals are measured against: nginx writing its access log (buffered) to a file on disk,
 * as the edge writes its log lines to one: both as deployed.
 */
export const BASELINE: TargetName = 'nginx';
/** The floor of a node:http proxy (bare-node.ts): the edge's ratio to it is what its features cost. */
export const NODE_FLOOR: TargetName = 'bare-node';
/**
 * Printed on lines of their own, the edge against: nginx without an access log, and itself
 * writing no access line (the log path's cost).
 */
export const EDGE_REFERENCES = [
  { target: 'nginx-nolog', what: 'access_log off' },
  { target: 'edge-nolog', what: 'the edge at LOG_LEVEL=warn: no access lines' },
] as const satisfies readonly { target: TargetName; what: string }[];

export interface SummaryRow {
  scenario: HttpScenario['name'];
  target: TargetName;
  /** Rounds that failed (not counted in the spreads). */
  failed: number;
  /** Rounds counted but with timed-out requests (overload). */
  withTimeouts: number;
  requestsPerSec: Spread;
  p99Ms: Spread;
  /** Per-round requests/s ÷ nginx's in the same round. */
  throughputVsBaseline?: Spread;
  /** Per-round p99 ÷ nginx's p99 in the same round. */
  p99VsBaseline?: Spread;
  /** Origin requests per client request (0 for pure hits, 1 for pure misses): the hit check. */
  originPerRequest: Spread;
  /** The target's CPU time (its process tree) per request, µs. */
  cpuUsPerRequest: Spread;
  /** Misses: the origin's CPU per request, µs (on the target's core). */
  originCpuUsPerRequest: Spread;
  /** Per-round requests/s ÷ bare-node's in the same round. */
  throughputVsNodeFloor?: Spread;
  /** Per-round p99 ÷ bare-node's p99 in the same round. */
  p99VsNodeFloor?: Spread;
  /** Edge rows: per-round requests/s and p99 ÷ each of EDGE_REFERENCES that ran. */
  edgeVersus?: { target: TargetName; what: string; throughput: Spread; p99: Spread }[];
  /** Edge rows: issue 8's goal and whether the medians meet it. */
  goal?: { text: string; met: boolean };
}

/** One row per (scenario, target), in first-seen order. Rounds are indexed so ratios pair by round. */
export function summarize(measurements: Measurement[], rounds: number): SummaryRow[] {
  const keys: { scenario: HttpScenario['name']; target: TargetName }[] = [];
  for (const m of measurements) {
    if (!keys.some((k) => k.scenario === m.scenario && k.target === m.target)) keys.push({ scenario: m.scenario, target: m.target });
  }
  const series = (scenario: string, target: string, pick: (m: Measurement) => number | undefined): number[] => {
    const values = Array.from({ length: rounds }, () => NaN);
    for (const m of measurements) {
      if (m.scenario === scenario && m.target === target && m.ok && m.load) values[m.round] = pick(m) ?? NaN;
    }
    return values;
  };
  const requestsPerSec = (m: Measurement) => m.load!.requestsPerSec;
  const p99Of = (m: Measurement) => m.load!.latencyMs.p99;
  return keys.map(({ scenario, target }) => {
    /** Whether `other` was measured in this scenario. */
    const ran = (other: TargetName) => keys.some((k) => k.scenario === scenario && k.target === other);
    /** `values` divided round by round by `other`'s figure in the same round. */
    const pairedWith = (values: number[], other: TargetName, pick: (m: Measurement) => number) => spread(pairedRatios(values, series(scenario, other, pick)));
    const rps = series(scenario, target, requestsPerSec);
    const p99 = series(scenario, target, p99Of);
    const originShare = series(scenario, target, (m) => (m.originRequests === undefined || m.load!.requests === 0 ? undefined : m.originRequests / m.load!.requests));
    const row: SummaryRow = {
      scenario,
      target,
      failed: measurements.filter((m) => m.scenario === scenario && m.target === target && !m.ok).length,
      withTimeouts: measurements.filter((m) => m.scenario === scenario && m.target === target && m.ok && m.warning).length,
      requestsPerSec: spread(rps),
      p99Ms: spread(p99),
      originPerRequest: spread(originShare),
      cpuUsPerRequest: spread(series(scenario, target, (m) => m.cpuUsPerRequest)),
      originCpuUsPerRequest: spread(series(scenario, target, (m) => m.originCpuUsPerRequest)),
    };
    const hasBaseline = ran(BASELINE);
    if (hasBaseline) {
      row.throughputVsBaseline = pairedWith(rps, BASELINE, requestsPerSec);
      row.p99VsBaseline = pairedWith(p99, BASELINE, p99Of);
    }
    if (ran(NODE_FLOOR)) {
      row.throughputVsNodeFloor = pairedWith(rps, NODE_FLOOR, requestsPerSec);
      row.p99VsNodeFloor = pairedWith(p99, NODE_FLOOR, p99Of);
    }
    if (target === 'edge') {
      row.edgeVersus = EDGE_REFERENCES.filter((ref) => ran(ref.target)).map((ref) => ({
        target: ref.target,
        what: ref.what,
        throughput: pairedWith(rps, ref.target, requestsPerSec),
        p99: pairedWith(p99, ref.target, p99Of),
      }));
    }
    if (target === 'edge' && hasBaseline && row.throughputVsBaseline!.n > 0) {
      const goal = HTTP_SCENARIOS[scenario].goal;
      const parts = [`>= ${goal.minThroughputRatio}x req/s`];
      let met = row.throughputVsBaseline!.median >= goal.minThroughputRatio;
      if (goal.maxP99Ratio !== undefined) {
        parts.push(`p99 <= ${goal.maxP99Ratio}x`);
        met &&= row.p99VsBaseline!.n > 0 && row.p99VsBaseline!.median <= goal.maxP99Ratio;
      }
      row.goal = { text: parts.join(', '), met };
    }
    return row;
  });
}

const fmt = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : '-');

/** `median (min-max)`, or `-` without values. */
export function formatSpread(s: Spread | undefined, digits: number, unit = ''): string {
  if (!s || s.n === 0) return '-';
  if (s.n === 1) return `${fmt(s.median, digits)}${unit}`;
  return `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}-${fmt(s.max, digits)})`;
}

/** A bench table: no colours and no row separators, so the same text goes to the terminal and to files. */
export function plainTable(head: string[]): Table.Table {
  return new Table({ head, style: { head: [], border: [], compact: true } });
}

/** The results table. */
export function summaryTable(rows: SummaryRow[]): string {
  const table = plainTable([
    'scenario',
    'target',
    'req/s median (min-max)',
    'p99 ms median (min-max)',
    'req/s ÷ nginx',
    'p99 ÷ nginx',
    'req/s ÷ bare-node',
    'p99 ÷ bare-node',
    'CPU µs/req',
    'origin req per req',
    'edge goal',
  ]);
  for (const row of rows) {
    const cpu = formatSpread(row.cpuUsPerRequest, 1);
    table.push([
      row.scenario,
      row.target + [row.failed ? `${row.failed} failed` : '', row.withTimeouts ? `${row.withTimeouts} with timeouts` : ''].filter(Boolean).map((n) => ` (${n})`).join(''),
      formatSpread(row.requestsPerSec, 0),
      formatSpread(row.p99Ms, 2),
      row.target === BASELINE ? '1' : formatSpread(row.throughputVsBaseline, 2, 'x'),
      row.target === BASELINE ? '1' : formatSpread(row.p99VsBaseline, 2, 'x'),
      row.target === NODE_FLOOR ? '1' : formatSpread(row.throughputVsNodeFloor, 2, 'x'),
      row.target === NODE_FLOOR ? '1' : formatSpread(row.p99VsNodeFloor, 2, 'x'),
      row.originCpuUsPerRequest.n > 0 ? `${cpu} + origin ${formatSpread(row.originCpuUsPerRequest, 1)}` : cpu,
      formatSpread(row.originPerRequest, 3),
      row.goal ? `${row.goal.met ? 'met' : 'NOT met'}: ${row.goal.text}` : '',
    ]);
  }
  return table.toString();
}

/** One line per EDGE_REFERENCES target that ran: the edge against it, per scenario. */
export function edgeReferenceLines(rows: SummaryRow[]): string[] {
  return EDGE_REFERENCES.flatMap((ref) => {
    const parts = rows.flatMap((r) => {
      const versus = r.edgeVersus?.find((v) => v.target === ref.target);
      return versus && versus.throughput.n > 0 ? [`${r.scenario} req/s ${formatSpread(versus.throughput, 2, 'x')}, p99 ${formatSpread(versus.p99, 2, 'x')}`] : [];
    });
    return parts.length ? [`edge ÷ ${ref.target} (${ref.what}; paired by round): ${parts.join('; ')}`] : [];
  });
}

/** The generator's ceiling next to the best median hit rate: how far the hits were from being generator-bound. */
export function generatorCeilingLine(ceiling: GeneratorCeiling, rows: SummaryRow[]): string {
  const rate = ceiling.load.requestsPerSec;
  const best = Math.max(...rows.filter((r) => r.requestsPerSec.n > 0).map((r) => r.requestsPerSec.median), 0);
  const share = best > 0 ? `; the best median above is ${((100 * best) / rate).toFixed(0)}% of it` : '';
  return `load generator ceiling: ${ceiling.what}: ${Math.round(rate)} req/s, p99 ${ceiling.load.latencyMs.p99.toFixed(2)} ms${share}`;
}

export function memoryLine(result: MemoryResult): string {
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  return (
    `memory: edge RSS ${mib(result.rssBytes)} (peak ${mib(result.peakRssBytes)}) with ${mib(result.edgeCacheBytes)} cached in ` +
    `${result.edgeCacheObjects} objects (CACHE_BYTES ${mib(result.cacheBytes)}, ${result.objectsRequested} objects / ${mib(result.bytesRequested)} requested, ` +
    `${result.failedRequests} failed; V8 heap ${mib(result.heapUsedBytes)} used of ${mib(result.heapTotalBytes)}, external ${mib(result.externalBytes)}; ` +
    `idle RSS ${mib(result.idleRssBytes)}, idle heap ${mib(result.idleHeapUsedBytes)}): ` +
    `goal RSS < ${mib(result.limitBytes)} ${result.pass ? 'met' : 'NOT met'}`
  );
}
