// Runs every variant of a comparison (each repetition on a fresh lab), with progress, and writes the report.
import path from 'node:path';
import cliProgress from 'cli-progress';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import type { Comparison } from './comparison.ts';
import { environment, runFolderName, summarizeVariant, writeReport, type ComparisonReport, type VariantSummary } from './report.ts';
import { runVariant, type Phase, type VariantResult } from './run-variant.ts';

export interface CompareOptions {
  outDir?: string;
  /** Show a progress bar (on a TTY) or one line per phase (otherwise). */
  progress?: boolean;
  log?: (line: string) => void;
  /** Count Cache-Status hits at the client as well (see drive.ts). */
  observeCacheStatus?: boolean;
}

/** Seconds a lab takes to start and stop, used only for the remaining-time estimate. */
const LAB_OVERHEAD_S = 2;

export async function runComparison(comparison: Comparison, options: CompareOptions = {}): Promise<{ report: ComparisonReport; dir: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = options.outDir ?? path.join(REPO_ROOT, 'runs', runFolderName(comparison.name));
  const runs = comparison.variants.length * comparison.repetitions;
  // Until a run has finished, a guess: request-count phases at ~1,500 req/s (updated from real runs).
  const phaseS = (plan: Comparison['warmup'] | Comparison['measure'], guess: number) =>
    plan.kind === 'time' ? plan.ms / 1000 : 'requests' in plan ? plan.requests / 1500 : guess;
  const perRunS = phaseS(comparison.warmup, 10) + phaseS(comparison.measure, 10) + LAB_OVERHEAD_S;
  const started = Date.now();
  const interactive = options.progress !== false && Boolean(process.stderr.isTTY);
  const bar = interactive
    ? new cliProgress.SingleBar(
        { format: '{bar} {percentage}% | {label} {phase} | elapsed {elapsedS}s, about {remainingS}s left', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(runs, 0, { label: '', phase: 'starting', elapsedS: 0, remainingS: Math.round(runs * perRunS) });
  let completedRuns = 0;
  const update = (label: string, phase: Phase) => {
    const elapsed = (Date.now() - started) / 1000;
    // Remaining time from what the finished runs actually took, once there are some.
    const perRun = completedRuns > 0 ? elapsed / completedRuns : perRunS;
    bar?.update(completedRuns, { label, phase, elapsedS: Math.round(elapsed), remainingS: Math.max(0, Math.round(perRun * runs - elapsed)) });
  };
  const startedAt = new Date().toISOString();
  // Real cache servers' hits are read off their headers at the client; then every variant's are, so
  // all pay the same client-side cost (autocannon buffers bodies to call onResponse).
  const observeCacheStatus = options.observeCacheStatus || comparison.variants.some((v) => v.topology.edges.software !== 'cdn-lab');
  const variants: VariantSummary[] = [];
  try {
    for (const variant of comparison.variants) {
      const results: VariantResult[] = [];
      for (let rep = 0; rep < comparison.repetitions; rep++) {
        const label = `${variant.name} run ${rep + 1}/${comparison.repetitions} [${completedRuns + 1}/${runs}]`;
        const result = await runVariant(
          {
            ...variant,
            workload: comparison.workload,
            run: rep,
            warmup: comparison.warmup,
            measure: comparison.measure,
            load: comparison.load,
            connections: comparison.connections,
          },
          {
            logDir: path.join(dir, 'logs', `run-${rep + 1}`),
            onPhase: (phase) => {
              update(label, phase);
              if (!interactive && phase !== 'stopping') log(`${label}: ${phase}`);
            },
            onTick: (phase) => update(label, phase),
            ...(observeCacheStatus ? { observeCacheStatus: true } : {}),
          },
        );
        results.push(result);
        completedRuns++;
        update(label, 'stopping');
        if (!interactive) {
          const cap = result.warmup.ended === 'cap' ? ' (warm-up cap reached before steady state)' : '';
          log(`${label}: warm-up ${result.warmup.requests} requests${cap}, ${Math.round(result.client.requestsPerSecond)} req/s, hit ratio ${(result.cache.hitRatio * 100).toFixed(1)}%, ${result.client.errors} errors`);
        }
      }
      variants.push(summarizeVariant(variant.name, results));
    }
  } finally {
    bar?.stop();
  }
  const report: ComparisonReport = {
    comparison,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: environment(REPO_ROOT),
    variants,
  };
  await writeReport(dir, report);
  return { report, dir };
}
