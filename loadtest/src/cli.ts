#!/usr/bin/env -S node --import tsx
// cdn-lab: the lab's command line. `compare` runs a comparison (what `npm start` does), `up`
// starts a topology and keeps it running until Ctrl-C, `simulate` replays a trace offline.
import path from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { ConfigError } from '@cdn-lab/service-kit';
import { REPO_ROOT, startLab, stopOnSignal } from '@cdn-lab/infra/local/lab';
import { scrapeTargets } from '@cdn-lab/grafana/prometheus';
import { hasPrometheusBinary, startPrometheus } from '@cdn-lab/grafana/prometheus-process';
import { parseTopology } from '@cdn-lab/infra/topology';
import { describePhases, loadComparison, readDataFile } from './comparison.ts';
import { runComparison } from './compare.ts';
import { summaryTable } from './report.ts';
import { simulateCommand } from './sim/command.ts';
import { SimulationInputError } from './sim/simulate.ts';
import { TraceError } from './sim/trace.ts';

/** A phase length as the comparison file writes it: a request count, or a duration string. */
function phaseOption(value: string): number | string {
  return /^\d+$/.test(value) ? Number(value) : value;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`expected a positive integer, got "${value}"`);
  return n;
}

const program = new Command()
  .name('cdn-lab')
  .description('Compare caching strategies, load-balancing schemes and topologies with real processes on loopback.')
  .showHelpAfterError();

program
  .command('compare')
  .description('run a comparison file: every variant on a fresh local lab, then a table and a run folder')
  .argument('[file]', 'comparison (YAML or JSON)', path.join(REPO_ROOT, 'loadtest/comparisons/default.yaml'))
  .option('--out <dir>', 'run folder (default: runs/<time>-<name>)')
  .option('--warmup <length>', 'override the warm-up: steady, a number of requests, or a duration like 5s (time-based)', (v) => (v === 'steady' ? v : phaseOption(v)))
  .option('--measure <length>', 'override the measured phase: a number of requests, or a duration like 15s (time-based)', phaseOption)
  .option('--rate <req/s>', 'open loop: send at this constant rate and time latency from each intended send', positiveInt)
  .option('--connections <n>', 'override concurrent client connections', positiveInt)
  .option('--repetitions <n>', 'override fresh-lab runs per variant', positiveInt)
  .option('--no-progress', 'print one line per phase instead of a progress bar')
  .action(async (file: string, opts: { out?: string; warmup?: number | string; measure?: number | string; rate?: number; connections?: number; repetitions?: number; progress: boolean }) => {
    const overrides = Object.fromEntries(
      Object.entries({ warmup: opts.warmup, measure: opts.measure, load: opts.rate ? { rate: opts.rate } : undefined, connections: opts.connections, repetitions: opts.repetitions }).filter(
        ([, value]) => value !== undefined,
      ),
    );
    const comparison = await loadComparison(file, overrides);
    process.stderr.write(`cdn-lab compare: ${comparison.name}, ${comparison.variants.length} variants x ${comparison.repetitions} run(s); ${describePhases(comparison)}\n`);
    const { report, dir } = await runComparison(comparison, { ...(opts.out ? { outDir: path.resolve(opts.out) } : {}), progress: opts.progress });
    process.stdout.write(`${summaryTable(report)}\n`);
    const where = path.relative(process.cwd(), dir) || dir;
    process.stdout.write(`report: ${where}/report.html  raw: ${where}/results.json\n`);
    const disagreeing = report.variants.filter((v) => !v.countsAgree);
    if (disagreeing.length) {
      process.stderr.write(`warning: edge and origin request counts disagree for ${disagreeing.map((v) => v.name).join(', ')}\n`);
    }
  });

program
  .command('up')
  .description('start a topology on loopback and keep it running until Ctrl-C')
  .argument('[file]', 'topology (YAML or JSON); defaults apply to anything left out')
  .option('--prometheus', 'also start Prometheus (from PATH) scraping every service, with the lab\'s recording and alert rules')
  .action(async (file: string | undefined, opts: { prometheus?: boolean }) => {
    const topology = parseTopology(file ? await readDataFile(file) : {}, file ?? 'topology');
    if (opts.prometheus && !hasPrometheusBinary()) {
      throw new ConfigError('--prometheus', ['no `prometheus` binary on PATH (on Debian: apt-get install prometheus)']);
    }
    const lab = await startLab(topology, {
      logDir: path.join(REPO_ROOT, 'runs', 'up-logs'),
      onServiceReady: (s) => process.stderr.write(`  ${s.plan.id.padEnd(10)} ${s.url} (pid ${s.pid})\n`),
    });
    if (opts.prometheus) {
      const targets = scrapeTargets(
        lab.services.map((s) => s.plan),
        (id) => new URL(lab.services.find((s) => s.plan.id === id)!.metricsUrl).host,
      );
      const prometheus = await startPrometheus({ targets }).catch(async (error: unknown) => {
        await lab.stop();
        throw error;
      });
      stopOnSignal(() => prometheus.stop());
      process.stderr.write(
        `  prometheus ${prometheus.url} (pid ${prometheus.pid}; scrapes every service each second; try ${prometheus.url}/graph?g0.expr=fleet:hit_ratio:rate1m)\n`,
      );
    }
    process.stdout.write(`cdn-lab up: send traffic to ${lab.balancerUrl} (e.g. curl -i ${lab.balancerUrl}/obj/1); Ctrl-C stops everything\n`);
    process.stdout.write(
      `  admin on each service's own URL, never through the balancer: Authorization: Bearer ${lab.adminToken} ` +
        `(e.g. curl -X PUT -H 'Authorization: Bearer ${lab.adminToken}' -H 'content-type: application/json' -d '{"down":true}' ${lab.originUrls[0]}/_admin/faults)\n`,
    );
    await new Promise(() => {});
  });

program.addCommand(simulateCommand('simulate').description('replay a trace through eviction policies offline, against Belady and an infinite cache'));

program.parseAsync(process.argv).catch((error: unknown) => {
  if (error instanceof TraceError || error instanceof SimulationInputError) {
    process.stderr.write(`cdn-lab simulate: ${error.message}\n`);
    process.exit(2);
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`cdn-lab: ${(error as Error)?.stack ?? String(error)}\n`);
  process.exit(1);
});
