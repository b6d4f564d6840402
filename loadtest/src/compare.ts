// Runs every variant of a comparison in turn, with a progress bar, and writes the report.
import path from 'node:path';
import cliProgress from 'cli-progress';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import type { Comparison } from './comparison.ts';
import { environment, runFolderName, writeReport, type ComparisonReport } from './report.ts';
import { runVariant, type Phase, type VariantResult } from './run-variant.ts';

export interface CompareOptions {
  outDir?: string;
  /** Show a progress bar (on a TTY) or one line per phase (otherwise). */
  progress?: boolean;
  log?: (line: string) => void;
}

/** Seconds a lab takes to start and stop, used only for the remaining-time estimate. */
const LAB_OVERHEAD_S = 3;

export async function runComparison(comparison: Comparison, options: CompareOptions = {}): Promise<{ report: ComparisonReport; dir: string }> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const dir = options.outDir ?? path.join(REPO_ROOT, 'runs', runFolderName(comparison.name));
  const perVariantS = (comparison.warmupMs + comparison.durationMs) / 1000 + LAB_OVERHEAD_S;
  const totalS = perVariantS * comparison.variants.length;
  const started = Date.now();
  const interactive = options.progress !== false && process.stderr.isTTY;
  const bar = interactive
    ? new cliProgress.SingleBar(
        { format: '{bar} {percentage}% | {variant} ({index}/{count}) {phase} | elapsed {elapsed}s, about {remaining}s left', hideCursor: true, stream: process.stderr },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  bar?.start(Math.round(totalS), 0, { variant: '', index: 0, count: comparison.variants.length, phase: 'starting', elapsed: 0, remaining: Math.round(totalS) });
  const results: VariantResult[] = [];
  const update = (index: number, name: string, phase: Phase) => {
    const elapsed = (Date.now() - started) / 1000;
    const done = Math.min(totalS, elapsed);
    const remaining = Math.max(0, Math.round(totalS - elapsed));
    bar?.update(Math.round(done), { variant: name, index: index + 1, phase, elapsed: Math.round(elapsed), remaining });
  };
  const startedAt = new Date().toISOString();
  try {
    for (const [index, variant] of comparison.variants.entries()) {
      const result = await runVariant(
        { ...variant, workload: comparison.workload, warmupMs: comparison.warmupMs, durationMs: comparison.durationMs, connections: comparison.connections },
        {
          logDir: path.join(dir, 'logs'),
          onPhase: (phase, phaseMs) => {
            update(index, variant.name, phase);
            if (!interactive && phase !== 'stopping') {
              log(`[${index + 1}/${comparison.variants.length}] ${variant.name}: ${phase}${phaseMs ? ` (${phaseMs / 1000}s)` : ''}`);
            }
          },
          onTick: (phase) => update(index, variant.name, phase),
        },
      );
      results.push(result);
      if (!interactive) {
        log(
          `[${index + 1}/${comparison.variants.length}] ${variant.name}: ${Math.round(result.client.requestsPerSecond)} req/s, hit ratio ${(result.cache.hitRatio * 100).toFixed(1)}%`,
        );
      }
    }
  } finally {
    bar?.stop();
  }
  const report: ComparisonReport = {
    comparison,
    startedAt,
    finishedAt: new Date().toISOString(),
    environment: environment(REPO_ROOT),
    variants: results,
  };
  await writeReport(dir, report);
  return { report, dir };
}
