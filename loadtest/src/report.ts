// What a comparison leaves behind: a terminal table and a run folder with the raw JSON.
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import Table from 'cli-table3';
import type { Comparison } from './comparison.ts';
import type { VariantResult } from './run-variant.ts';

export interface ComparisonReport {
  comparison: Comparison;
  startedAt: string;
  finishedAt: string;
  environment: { node: string; platform: string; cpus: number; commit: string | null; cdnLab: string };
  variants: VariantResult[];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const ms = (x: number) => (x < 10 ? x.toFixed(2) : x.toFixed(1));

export function summaryTable(report: ComparisonReport): string {
  const table = new Table({
    head: ['variant', 'req/s', 'hit ratio', 'byte hit', 'origin reqs', 'offload', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'counts'],
    style: { head: [], border: [] },
  });
  for (const v of report.variants) {
    table.push([
      v.name,
      Math.round(v.client.requestsPerSecond).toLocaleString('en-US'),
      pct(v.cache.hitRatio),
      pct(v.cache.byteHitRatio),
      v.cache.originRequests.toLocaleString('en-US'),
      pct(v.cache.originOffload),
      ms(v.client.latencyMs.p50),
      ms(v.client.latencyMs.p95),
      ms(v.client.latencyMs.p99),
      String(v.client.errors),
      v.cache.countsAgree ? 'agree' : `DISAGREE (edges ${v.cache.edgeToOriginRequests})`,
    ]);
  }
  return table.toString();
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

/** Writes results.json and summary.txt into `dir`; returns their paths. */
export async function writeReport(dir: string, report: ComparisonReport): Promise<{ json: string; summary: string }> {
  await mkdir(dir, { recursive: true });
  const json = path.join(dir, 'results.json');
  const summary = path.join(dir, 'summary.txt');
  await writeFile(json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(summary, `${report.comparison.name}: ${report.comparison.description}\n${summaryTable(report)}\n`);
  return { json, summary };
}

/** A run folder name that sorts by time: runs/2026-11-23T19-30-05-policy-and-balancing. */
export function runFolderName(name: string, date = new Date()): string {
  return `${date.toISOString().slice(0, 19).replace(/:/g, '-')}-${name}`;
}
