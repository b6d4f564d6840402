// One variant of a comparison: a fresh lab, a warm-up, a measured phase, the lab stopped.
import path from 'node:path';
import { startLab, type Lab } from '@cdn-lab/infra/local/lab';
import type { Topology } from '@cdn-lab/infra/topology';
import { drive, type DriveResult } from './drive.ts';
import { measureHeaderBytes, simulateLiveRun, type SimulatedFigures } from './live-vs-sim.ts';
import { CATALOGUE_ROUTES, cacheFigures, servedCounts, type CacheFigures, type LabScrapes } from './measure.ts';
import { scrapeMetrics, sumAcross } from './scrape.ts';
import { requestSource, type WorkloadSpec } from './workload.ts';

export interface VariantPlan {
  name: string;
  topology: Topology;
  workload: WorkloadSpec;
  warmupMs: number;
  durationMs: number;
  connections: number;
  /** Repetition number: each draws its own request streams from the same popularity. */
  run?: number;
}

export type Phase = 'starting' | 'warm-up' | 'measuring' | 'stopping';

/** One second of the measured phase, from the edges' counters. */
export interface TimePoint {
  /** Seconds since the measured phase began. */
  t: number;
  requests: number;
  hitRatio: number;
}

export interface VariantResult {
  name: string;
  topology: Topology;
  workload: WorkloadSpec;
  client: DriveResult;
  cache: CacheFigures;
  /** Hit ratio second by second during the measured phase. */
  timeline: TimePoint[];
  /** Repetition number (selects the request streams). */
  run: number;
  /** Requests the warm-up asked for (the offline replay needs them). */
  warmupRequests: number;
  /** The same request streams replayed offline through the same policy code. */
  simulated: SimulatedFigures;
  services: { id: string; role: string; url: string }[];
}

export interface RunVariantOptions {
  /** Where each service writes its log lines. */
  logDir?: string;
  onPhase?: (phase: Phase, phaseMs: number) => void;
  onTick?: (phase: Phase, completed: number) => void;
  /** Count Cache-Status hits at the client too (tests use it to check the edges' counters). */
  observeCacheStatus?: boolean;
}

async function scrapeLab(lab: Lab): Promise<LabScrapes> {
  const [edges, innerEdges, origins] = await Promise.all([
    Promise.all(lab.edgeUrls.map(scrapeMetrics)),
    Promise.all((lab.shieldUrl ? [lab.shieldUrl] : []).map(scrapeMetrics)),
    Promise.all(lab.originUrls.map(scrapeMetrics)),
  ]);
  return { edges, innerEdges, origins };
}

/**
 * Scrapes once the lab is quiet: when the load stops, upstream fetches already under way finish a
 * little later, so the edges' and the origin's counters are read only after they stop moving.
 */
async function scrapeSettled(lab: Lab, timeoutMs = 5000): Promise<LabScrapes> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  for (;;) {
    const scrapes = await scrapeLab(lab);
    const counts = [
      sumAcross(scrapes.origins, 'origin_http_requests_total', { route: CATALOGUE_ROUTES }),
      sumAcross([...scrapes.edges, ...scrapes.innerEdges], 'edge_upstream_requests_total'),
      sumAcross(scrapes.edges, 'edge_requests_total'),
    ].join('/');
    if (counts === previous || Date.now() > deadline) return scrapes;
    previous = counts;
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

/** Scrapes the edges once a second and turns consecutive scrapes into per-second hit ratios. */
function sampleTimeline(lab: Lab): { stop(): Promise<TimePoint[]> } {
  const started = Date.now();
  const points: TimePoint[] = [];
  let previous: { requests: number; hits: number } | undefined;
  let pending: Promise<void> = Promise.resolve();
  const sample = async () => {
    const scrapes = await Promise.all(lab.edgeUrls.map(scrapeMetrics)).catch(() => undefined);
    if (!scrapes) return;
    const { requests, hits } = servedCounts(scrapes);
    if (previous && requests > previous.requests) {
      points.push({
        t: Math.round((Date.now() - started) / 100) / 10,
        requests: requests - previous.requests,
        hitRatio: (hits - previous.hits) / (requests - previous.requests),
      });
    }
    previous = { requests, hits };
  };
  pending = sample();
  const timer = setInterval(() => {
    pending = pending.then(sample);
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      return points;
    },
  };
}

export async function runVariant(plan: VariantPlan, options: RunVariantOptions = {}): Promise<VariantResult> {
  options.onPhase?.('starting', 0);
  const lab = await startLab(plan.topology, options.logDir ? { logDir: path.join(options.logDir, plan.name) } : {});
  try {
    // Warm-up and measurement draw from the same popularity (same seed) but different streams.
    // Count what each phase asked for: the offline replay must see exactly these requests.
    const source = requestSource(plan.workload, plan.topology.origin.objects, plan.run ?? 0);
    const sent = { warmup: 0, measure: 0 };
    const rate = plan.workload.kind === 'trace' ? plan.workload.rate : undefined;
    if (plan.warmupMs > 0) {
      options.onPhase?.('warm-up', plan.warmupMs);
      await drive({
        url: lab.balancerUrl,
        nextPath: () => {
          sent.warmup++;
          return source.pathOf(source.warmup());
        },
        ...(rate ? { overallRate: rate } : {}),
        durationMs: plan.warmupMs,
        connections: plan.connections,
        onTick: (n) => options.onTick?.('warm-up', n),
      });
    }
    const before = await scrapeSettled(lab);
    options.onPhase?.('measuring', plan.durationMs);
    const sampler = sampleTimeline(lab);
    const client = await drive({
      url: lab.balancerUrl,
      nextPath: () => {
        sent.measure++;
        return source.pathOf(source.measure());
      },
      ...(rate ? { overallRate: rate } : {}),
      durationMs: plan.durationMs,
      connections: plan.connections,
      onTick: (n) => options.onTick?.('measuring', n),
      ...(options.observeCacheStatus ? { observeCacheStatus: true } : {}),
    });
    const timeline = await sampler.stop();
    const after = await scrapeSettled(lab);
    const edgeIds = lab.services.filter((s) => s.plan.role === 'edge').map((s) => s.plan.id);
    const headerBytes = await measureHeaderBytes(lab.edgeUrls[0]!, source.pathOf(0));
    const cache = cacheFigures(before, after, edgeIds);
    return {
      name: plan.name,
      topology: plan.topology,
      workload: plan.workload,
      client,
      cache,
      timeline,
      warmupRequests: sent.warmup,
      run: plan.run ?? 0,
      simulated: simulateLiveRun({ topology: plan.topology, workload: plan.workload, run: plan.run ?? 0, warmupRequests: sent.warmup, measuredRequests: sent.measure, headerBytes }),
      services: lab.services.map((s) => ({ id: s.plan.id, role: s.plan.role, url: s.url })),
    };
  } finally {
    options.onPhase?.('stopping', 0);
    await lab.stop();
  }
}
