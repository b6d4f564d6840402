// What a comparison leaves behind: a terminal table and a run folder with the raw JSON.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import type { Comparison } from './comparison.ts';
import { writeHtmlReport } from './html-report.ts';
import { LIVE_SIM_TOLERANCE } from './live-vs-sim.ts';
import type { VariantResult } from './run-variant.ts';
import { describePhases } from './comparison.ts';
import { disagree, distinct, INTERVAL_WORDS, summarize, type Domain, type Summary } from './stats.ts';

/** The figures summarised across repetitions, with how each is read off a run. */
export const FIGURES = {
  requestsPerSecond: (r: VariantResult) => r.client.requestsPerSecond,
  hitRatio: (r: VariantResult) => r.cache.hitRatio,
  byteHitRatio: (r: VariantResult) => r.cache.byteHitRatio,
  originOffload: (r: VariantResult) => r.cache.originOffload,
  originRequests: (r: VariantResult) => r.cache.originRequests,
  p50Ms: (r: VariantResult) => r.client.latencyMs.p50,
  p95Ms: (r: VariantResult) => r.client.latencyMs.p95,
  p99Ms: (r: VariantResult) => r.client.latencyMs.p99,
  errors: (r: VariantResult) => r.client.errors,
  simulatedHitRatio: (r: VariantResult) => r.simulated.hitRatio,
  beladyHitRatio: (r: VariantResult) => r.simulated.belady?.hitRatio ?? NaN,
  beladyByteHitRatio: (r: VariantResult) => r.simulated.belady?.byteHitRatio ?? NaN,
  /** What the edges' own hit/miss headers said, counted at the client (when observed). */
  serverHitRatio: (r: VariantResult) => r.cache.serverHitRatio ?? NaN,
  /** CPU seconds of every edge process (shield included) during the measured phase. */
  edgeCpuSeconds: (r: VariantResult) => (r.processes?.length ? r.processes.reduce((sum, p) => sum + p.cpuSeconds, 0) : NaN),
  /** Peak resident memory of every edge process since start, summed. */
  edgePeakRssBytes: (r: VariantResult) => (r.processes?.length ? r.processes.reduce((sum, p) => sum + p.peakRssBytes, 0) : NaN),
} as const;
export type Figure = keyof typeof FIGURES;

/** What each figure can be, which decides how its interval is made (stats.ts). */
const DOMAINS: Record<Figure, Domain> = {
  requestsPerSecond: 'positive',
  hitRatio: 'ratio',
  byteHitRatio: 'ratio',
  originOffload: 'ratio',
  originRequests: 'positive',
  p50Ms: 'positive',
  p95Ms: 'positive',
  p99Ms: 'positive',
  errors: 'positive',
  simulatedHitRatio: 'ratio',
  beladyHitRatio: 'ratio',
  beladyByteHitRatio: 'ratio',
  serverHitRatio: 'ratio',
  edgeCpuSeconds: 'positive',
  edgePeakRssBytes: 'positive',
};

/** Figures the summary ranks, and which way is better. */
const RANKED: { figure: Figure; words: string; better: 'higher' | 'lower'; format: (x: number) => string }[] = [
  { figure: 'hitRatio', words: 'hit ratio', better: 'higher', format: (x) => `${(x * 100).toFixed(1)}%` },
  { figure: 'byteHitRatio', words: 'byte hit ratio', better: 'higher', format: (x) => `${(x * 100).toFixed(1)}%` },
  { figure: 'p99Ms', words: 'p99 latency', better: 'lower', format: (x) => `${x.toFixed(1)} ms` },
];

/**
 * When a variant's runs disagree: the spread between its best and worst run exceeds this
 * (relative to the mean, or absolute for ratios). The spread, unlike the t interval, does not
 * balloon with two runs, so it flags real disagreement at any repetition count.
 */
const INSTABILITY = { requestsPerSecond: [0.15, 0], hitRatio: [0, 0.03], byteHitRatio: [0, 0.05], p99Ms: [0.5, 0] } as const;

export interface VariantSummary {
  name: string;
  runs: VariantResult[];
  figures: Record<Figure, Summary>;
  /** Every run's edge-to-origin count matched the origin's own count. */
  countsAgree: boolean;
  /** Figures whose runs disagree beyond the tolerance (see INSTABILITY). */
  unstable: Figure[];
  /** Live hit ratio minus the offline replay's; null when the topology is not replayed offline. */
  liveMinusSimulated: number | null;
  /** Live and simulated agree within LIVE_SIM_TOLERANCE (null: not compared). */
  liveAgreesWithSimulated: boolean | null;
}

export interface ComparisonReport {
  comparison: Comparison;
  startedAt: string;
  finishedAt: string;
  environment: { node: string; platform: string; cpus: number; commit: string | null; cdnLab: string };
  variants: VariantSummary[];
}

export function summarizeVariant(name: string, runs: VariantResult[]): VariantSummary {
  const figures = Object.fromEntries(Object.entries(FIGURES).map(([figure, read]) => [figure, summarize(runs.map(read), DOMAINS[figure as Figure])])) as Record<Figure, Summary>;
  const unstableFigures = (Object.entries(INSTABILITY) as [Figure, readonly [number, number]][])
    .filter(([figure, [relative, absolute]]) => disagree(figures[figure], relative, absolute))
    .map(([figure]) => figure);
  const comparable = runs.every((r) => r.simulated.comparable);
  const liveMinusSimulated = comparable ? figures.hitRatio.mean - figures.simulatedHitRatio.mean : null;
  return {
    name,
    runs,
    figures,
    countsAgree: runs.every((r) => r.cache.countsAgree),
    unstable: unstableFigures,
    liveMinusSimulated,
    liveAgreesWithSimulated: liveMinusSimulated === null ? null : Math.abs(liveMinusSimulated) <= LIVE_SIM_TOLERANCE,
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));
/** The mean with its interval in brackets (none for one run). */
export const withInterval = (s: Summary, format: (x: number) => string) =>
  s.method === 'none' ? format(s.mean) : `${format(s.mean)} (${format(s.low).replace('%', '')}–${format(s.high)})`;
const withCi = withInterval;

/**
 * For each ranked figure: the best variant, and which others are or are not distinguishable from
 * it. Variants whose intervals overlap the best's are "not significantly different", not ranked.
 */
export function rankingNotes(report: ComparisonReport): string[] {
  if (report.variants.length < 2) return [];
  return RANKED.map(({ figure, words, better, format }) => {
    const sorted = [...report.variants].sort((a, b) => (better === 'higher' ? b.figures[figure].mean - a.figures[figure].mean : a.figures[figure].mean - b.figures[figure].mean));
    const best = sorted[0]!;
    const tied = sorted.slice(1).filter((v) => !distinct(best.figures[figure], v.figures[figure]));
    const head = `${words}: ${better === 'higher' ? 'highest' : 'lowest'} ${best.name} (${format(best.figures[figure].mean)})`;
    if (best.figures[figure].method === 'none') return `${head}; one run per variant, so no difference is shown to be significant`;
    if (tied.length === 0) return `${head}, ahead of every other variant (intervals do not overlap)`;
    if (tied.length === sorted.length - 1) return `${head}, but no variant differs significantly from it (intervals overlap)`;
    return `${head}; not significantly different from ${tied.map((v) => v.name).join(', ')} (intervals overlap)`;
  });
}

export function summaryTable(report: ComparisonReport): string {
  const table = new Table({
    head: ['variant', 'req/s', 'hit ratio', 'sim hit', 'Belady hit', 'byte hit', 'origin reqs', 'offload', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'counts', 'edge CPU s', 'edge peak MiB'],
    style: { head: [], border: [] },
  });
  for (const v of report.variants) {
    const f = v.figures;
    table.push([
      v.name + (v.unstable.length ? ' (!)' : ''),
      withCi(f.requestsPerSecond, (x) => Math.round(x).toLocaleString('en-US')),
      withCi(f.hitRatio, pct),
      v.liveMinusSimulated === null ? 'n/a' : `${pct(f.simulatedHitRatio.mean)}${v.liveAgreesWithSimulated ? '' : ' (!)'}`,
      Number.isNaN(f.beladyHitRatio.mean) ? 'n/a' : pct(f.beladyHitRatio.mean),
      withCi(f.byteHitRatio, pct),
      Math.round(f.originRequests.mean).toLocaleString('en-US'),
      pct(f.originOffload.mean),
      ms(f.p50Ms.mean),
      ms(f.p95Ms.mean),
      ms(f.p99Ms.mean),
      String(Math.round(f.errors.mean * f.errors.n)),
      v.countsAgree ? 'agree' : 'DISAGREE',
      Number.isNaN(f.edgeCpuSeconds.mean) ? 'n/a' : f.edgeCpuSeconds.mean.toFixed(1),
      Number.isNaN(f.edgePeakRssBytes.mean) ? 'n/a' : (f.edgePeakRssBytes.mean / (1024 * 1024)).toFixed(0),
    ]);
  }
  const first = report.variants[0];
  const runs = first?.figures.hitRatio.n ?? 0;
  const latencyMode = first?.runs[0]?.client.latencyMode ?? 'closed-loop';
  const capped = report.variants.filter((v) => v.runs.some((r) => r.warmup.ended === 'cap'));
  const methods = [...new Set(report.variants.flatMap((v) => [v.figures.hitRatio.method, v.figures.p99Ms.method]))];
  const notes = [
    `${runs} run(s) per variant; ${describePhases(report.comparison)}.`,
    `brackets: ${methods.map((m) => INTERVAL_WORDS[m]).join('; ')}.`,
    latencyMode === 'open-loop'
      ? 'latency is measured at the client, through the balancer, from each request\'s intended send time (open loop: no coordinated omission).'
      : 'latency is measured at the client, through the balancer, closed loop (each connection waits for its answer: a slow variant is sent less, which flatters its percentiles; use load: { rate } for open loop).',
    ...report.variants.map((v) => `${v.name}: warm-up ${v.runs.map((r) => `${r.warmup.requests.toLocaleString('en-US')}${r.warmup.ended === 'cap' ? ' (cap)' : ''}`).join(', ')} requests; measured ${v.runs.map((r) => r.measuredRequests.toLocaleString('en-US')).join(', ')}`),
    ...capped.map((v) => `(!) ${v.name}: the warm-up reached its cap (warmupMaxRequests) before the hit ratio stopped rising: the cache may not have been warm`),
    ...rankingNotes(report),
    ...(report.variants.some((v) => v.runs.some((r) => r.cache.countedBy !== 'origin'))
      ? ['hit ratio and byte hit ratio of the lab\'s edges come from their /metrics; origin reqs from the origin\'s own /metrics ("counts" checks they match).']
      : []),
    ...(report.variants.some((v) => v.runs.some((r) => r.cache.countedBy === 'origin'))
      ? [
          'real cache servers (edges.software): hit ratio = 1 - origin requests / client requests, byte hit ratio = 1 - origin body bytes / body bytes asked for; "counts" checks the misses their own hit/miss header reported against the origin\'s count.',
        ]
      : []),
    ...report.variants
      .filter((v) => !Number.isNaN(v.figures.serverHitRatio.mean))
      .map((v) => `${v.name}: its own hit header said ${pct(v.figures.serverHitRatio.mean)} (hit ratio ${pct(v.figures.hitRatio.mean)})`),
    'Belady hit: the same requests replayed offline with Belady\'s furthest-next-use eviction on the same edges and byte budgets (with object sizes a heuristic bound, not the exact optimum).',
    'edge CPU s: user + system CPU of the edge processes during the measured phase; edge peak MiB: their peak resident memory since start (/proc VmHWM, summed over each server\'s processes).',
    `sim hit: the same request streams replayed offline through the same policy code; (!) when it differs from live by more than ${LIVE_SIM_TOLERANCE * 100} points.`,
    ...report.variants.filter((v) => v.unstable.length).map((v) => `(!) ${v.name}: runs disagree on ${v.unstable.join(', ')}`),
    ...report.variants
      .filter((v) => v.liveAgreesWithSimulated === false)
      .map((v) => `(!) ${v.name}: live hit ratio differs from the simulated one by ${((v.liveMinusSimulated ?? 0) * 100).toFixed(1)} points`),
  ];
  return `${table.toString()}\n${notes.join('\n')}`;
}

export function environment(repoRoot: string): ComparisonReport['environment'] {
  let commit: string | null = null;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = null;
  }
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: os.availableParallelism(), commit, cdnLab: '0.1.0' };
}

/** Writes results.json, summary.txt and report.html into `dir`; returns their paths. */
export async function writeReport(dir: string, report: ComparisonReport): Promise<{ json: string; summary: string; html: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'results.json');
  const summary = path.join(dir, 'summary.txt');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(summary, `${report.comparison.name}: ${report.comparison.description}\n${summaryTable(report)}\n`);
  const html = await writeHtmlReport(dir, report);
  return { json, summary, html };
}

/** A run folder name that sorts by time: runs/2026-11-23T19-30-05-policy-and-balancing. */
export function runFolderName(name: string, date = new Date()): string {
  return `${date.toISOString().slice(0, 19).replace(/:/g, '-')}-${name}`;
}
