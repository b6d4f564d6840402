// One variant of a comparison: a fresh lab, a warm-up, a measured phase, the lab stopped.
import path from 'node:path';
import { startLab, type Lab } from '@cdn-lab/infra/local/lab';
import { readProcessTree } from '@cdn-lab/infra/local/processes';
import { servedFromServerCache } from '@cdn-lab/infra/render/cache-server';
import type { Topology } from '@cdn-lab/infra/topology';
import { objectSize } from '@cdn-lab/origin/catalogue';
import { catalogueSpecOf, originConfig } from '@cdn-lab/origin/config';
import type { LoadPlan, MeasurePlan, WarmupPlan } from './comparison.ts';
import { drive, type DriveResult, type PhaseLength } from './drive.ts';
import { measureHeaderBytes, simulateLiveRun, type SimulatedFigures } from './live-vs-sim.ts';
import { CATALOGUE_ROUTES, cacheFigures, cacheFiguresFromOrigin, originCounts, servedCounts, type CacheFigures, type LabScrapes } from './measure.ts';
import { scrapeMetrics, sumAcross, sumMetric, type Scrape } from './scrape.ts';
import { requestSource, type WorkloadSpec } from './workload.ts';

export interface VariantPlan {
  name: string;
  topology: Topology;
  workload: WorkloadSpec;
  warmup: WarmupPlan;
  measure: MeasurePlan;
  load: LoadPlan;
  connections: number;
  /** Repetition number: each draws its own request streams from the same popularity. */
  run?: number;
}

export type Phase = 'starting' | 'warm-up' | 'measuring' | 'stopping';

/** A stretch of the run (a warm-up window, or a second of the measured phase), from the edges' counters. */
export interface TimePoint {
  phase: 'warm-up' | 'measure';
  /** Seconds since the warm-up began, at the end of the stretch. */
  t: number;
  /** Requests the edges served since the warm-up began, at the end of the stretch. */
  cumulativeRequests: number;
  /** Requests in the stretch. */
  requests: number;
  hitRatio: number;
  /** Fill of the fullest-to-least-full edge cache: the least full one's bytes ÷ its budget. */
  cacheFill?: number;
}

/** How the warm-up went: how long it was and why it ended. */
export interface WarmupOutcome {
  requests: number;
  windows: number;
  /** `steady`: the test passed; `cap`: warmupMaxRequests was reached first (the run says so); `fixed`: a set length. */
  ended: 'steady' | 'cap' | 'fixed';
  ms: number;
}

/** CPU and memory of one edge's processes (a server and every process under it), from /proc. */
export interface ProcessFigures {
  id: string;
  role: string;
  software: string;
  /** User + system CPU seconds spent during the measured phase. */
  cpuSeconds: number;
  /** Peak resident memory since start (warm-up included): each process's VmHWM, summed. */
  peakRssBytes: number;
  /** Resident memory at the end of the measured phase, summed. */
  rssBytes: number;
  /** Processes found (nginx's master and worker, varnishd's manager and child: 2). */
  processes: number;
}

export interface VariantResult {
  name: string;
  topology: Topology;
  workload: WorkloadSpec;
  client: DriveResult;
  cache: CacheFigures;
  /** Hit ratio through the warm-up (per window) and the measured phase (per second). */
  timeline: TimePoint[];
  /** Repetition number (selects the request streams). */
  run: number;
  warmup: WarmupOutcome;
  /** Requests the warm-up asked for (the offline replay needs them). */
  warmupRequests: number;
  /** Requests the measured phase asked for. */
  measuredRequests: number;
  /** The same request streams replayed offline through the same policy code. */
  simulated: SimulatedFigures;
  services: { id: string; role: string; url: string }[];
  /** CPU and memory of each edge (shield included). */
  processes?: ProcessFigures[];
}

export interface RunVariantOptions {
  /** Where each service writes its log lines. */
  logDir?: string;
  onPhase?: (phase: Phase, phaseMs: number) => void;
  onTick?: (phase: Phase, completed: number) => void;
  /** Count Cache-Status hits at the client too (tests use it to check the edges' counters). */
  observeCacheStatus?: boolean;
}

/** Whether the lab's edges are real cache servers (which have no /metrics of ours). */
const hasCacheServers = (lab: Lab) => lab.topology.edges.software !== 'cdn-lab';

async function scrapeLab(lab: Lab): Promise<LabScrapes> {
  const edgeUrls = hasCacheServers(lab) ? [] : lab.edgeUrls;
  const [edges, innerEdges, origins] = await Promise.all([
    Promise.all(edgeUrls.map(scrapeMetrics)),
    Promise.all((lab.shieldUrl && !hasCacheServers(lab) ? [lab.shieldUrl] : []).map(scrapeMetrics)),
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

/** Scrapes the given edges until their request counters stop moving (fetches under way finish). */
async function scrapeSettledEdges(urls: string[], timeoutMs = 5000): Promise<Scrape[]> {
  const deadline = Date.now() + timeoutMs;
  let previous = '';
  for (;;) {
    const scrapes = await Promise.all(urls.map(scrapeMetrics));
    const counts = [sumAcross(scrapes, 'edge_requests_total'), sumAcross(scrapes, 'edge_cache_bytes')].join('/');
    if (counts === previous || Date.now() > deadline) return scrapes;
    previous = counts;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The steady-state test: the hit ratio of the latest window is not above the one before by more
 * than two standard errors of their difference (a one-sided two-proportion z-test at about 97.7%).
 */
export function stoppedRising(previous: { requests: number; hitRatio: number }, latest: { requests: number; hitRatio: number }): boolean {
  const pooled = (previous.hitRatio * previous.requests + latest.hitRatio * latest.requests) / (previous.requests + latest.requests);
  const se = Math.sqrt(Math.max(pooled * (1 - pooled), 1e-9) * (1 / previous.requests + 1 / latest.requests));
  return latest.hitRatio - previous.hitRatio <= 2 * se;
}

/** Least full cache among the edges (bytes held ÷ budget); a cache that stopped growing counts as full. */
function cacheFill(scrapes: Scrape[]): number {
  return Math.min(...scrapes.map((s) => sumMetric(s, 'edge_cache_bytes') / Math.max(1, sumMetric(s, 'edge_cache_capacity_bytes'))));
}

/** The stretch between two cumulative counts of the edges. */
function pointBetween(phase: TimePoint['phase'], started: number, origin: number, before: { requests: number; hits: number }, after: { requests: number; hits: number }): TimePoint {
  const requests = after.requests - before.requests;
  return {
    phase,
    t: Math.round((Date.now() - started) / 100) / 10,
    cumulativeRequests: after.requests - origin,
    requests,
    hitRatio: requests > 0 ? (after.hits - before.hits) / requests : 0,
  };
}

/** Reads the counters once a second during the measured phase and turns consecutive reads into points. */
function sampleTimeline(read: () => Promise<{ requests: number; hits: number }>, started: number, origin: number): { stop(): Promise<TimePoint[]> } {
  const points: TimePoint[] = [];
  let previous: { requests: number; hits: number } | undefined;
  let pending: Promise<void> = Promise.resolve();
  const sample = async () => {
    const counts = await read().catch(() => undefined);
    if (!counts) return;
    if (previous && counts.requests > previous.requests) points.push(pointBetween('measure', started, origin, previous, counts));
    previous = counts;
  };
  pending = sample();
  const timer = setInterval(() => {
    pending = pending.then(sample);
  }, 1000);
  return {
    async stop() {
      clearInterval(timer);
      await pending;
      await sample();
      return points;
    },
  };
}

/** A point's hit ratio over fewer requests than this is mostly noise: neighbours are merged. */
const MIN_POINT_REQUESTS = 500;

/** Merges consecutive points until each covers at least `min` requests (a short tail joins the last one). */
export function mergeSmall(points: TimePoint[], min: number): TimePoint[] {
  const merged: TimePoint[] = [];
  let open: TimePoint | undefined;
  for (const point of points) {
    if (!open) open = { ...point };
    else {
      const requests = open.requests + point.requests;
      open = { ...point, requests, hitRatio: (open.hitRatio * open.requests + point.hitRatio * point.requests) / requests };
    }
    if (open.requests >= min) {
      merged.push(open);
      open = undefined;
    }
  }
  if (open) {
    // A short tail joins the point before it rather than standing alone as noise.
    const last = merged.pop();
    if (!last) merged.push(open);
    else {
      const requests = last.requests + open.requests;
      merged.push({ ...open, requests, hitRatio: (last.hitRatio * last.requests + open.hitRatio * open.requests) / requests });
    }
  }
  return merged;
}

const lengthOf = (plan: { kind: 'requests'; requests: number } | { kind: 'time'; ms: number }): PhaseLength =>
  plan.kind === 'requests' ? { requests: plan.requests } : { durationMs: plan.ms };

export async function runVariant(plan: VariantPlan, options: RunVariantOptions = {}): Promise<VariantResult> {
  options.onPhase?.('starting', 0);
  const lab = await startLab(plan.topology, options.logDir ? { logDir: path.join(options.logDir, plan.name) } : {});
  try {
    // Warm-up and measurement draw from the same popularity (same seed) but different streams.
    // Count what each phase asked for: the offline replay must see exactly these requests.
    const source = requestSource(plan.workload, plan.topology.origin.objects, plan.run ?? 0);
    const sent = { warmup: 0, measure: 0 };
    const { software, cacheBytes, count: edgeCount } = plan.topology.edges;
    const external = software !== 'cdn-lab';
    // Body bytes the measured requests asked for: a real cache server's byte hit ratio is what of them the origin did not send.
    const catalogue = catalogueSpecOf(originConfig({ catalogueObjects: plan.topology.origin.objects, catalogueSeed: plan.topology.origin.seed }));
    let measuredBodyBytes = 0;
    const rate = plan.workload.kind === 'trace' ? plan.workload.rate : undefined;
    const load = {
      url: lab.balancerUrl,
      connections: plan.connections,
      ...(rate ? { overallRate: rate } : {}),
      ...(plan.load.mode === 'open' ? { openLoopRate: plan.load.rate } : {}),
    };
    const warmupPath = () => {
      sent.warmup++;
      return source.pathOf(source.warmup());
    };
    const allCaches = [...lab.edgeUrls, ...(lab.shieldUrl ? [lab.shieldUrl] : [])];
    // Requests answered before the current phase, and within it (its driver's ticks): a real cache
    // server's request count is the client's.
    const answered = { before: 0, inPhase: 0 };
    const originAtStart = originCounts(await Promise.all(lab.originUrls.map(scrapeMetrics)));
    /**
     * Cumulative requests and hits (and, settled, the caches' fill): the lab's edges from their own
     * counters; real cache servers as client requests minus the origin's catalogue requests, with
     * fill estimated as the bytes the origin sent ÷ the caches' budgets (a cache holds no more than that).
     */
    const readCounts = async (settled: boolean): Promise<{ requests: number; hits: number; fill: number }> => {
      if (!external) {
        const scrapes = settled ? await scrapeSettledEdges(allCaches) : await Promise.all(allCaches.map(scrapeMetrics));
        return { ...servedCounts(scrapes.slice(0, lab.edgeUrls.length)), fill: cacheFill(scrapes) };
      }
      const origins = originCounts(settled ? (await scrapeSettled(lab)).origins : await Promise.all(lab.originUrls.map(scrapeMetrics)));
      const requests = answered.before + answered.inPhase;
      return { requests, hits: requests - (origins.requests - originAtStart.requests), fill: Math.min(1, (origins.bytes - originAtStart.bytes) / (cacheBytes * edgeCount)) };
    };
    /** Runs one phase's driver, keeping the count of answered requests. */
    const drivePhase = async (options_: Parameters<typeof drive>[0]) => {
      answered.inPhase = 0;
      const onTick = options_.onTick;
      const result = await drive({ ...options_, onTick: (n) => ((answered.inPhase = n), onTick?.(n)) });
      answered.before += result.requests;
      answered.inPhase = 0;
      return result;
    };
    const started = Date.now();
    const timeline: TimePoint[] = [];
    const initial = await readCounts(false);
    const origin = initial.requests;
    options.onPhase?.('warm-up', plan.warmup.kind === 'time' ? plan.warmup.ms : 0);
    let warmup: WarmupOutcome;
    if (plan.warmup.kind === 'steady') {
      const { windowRequests, maxRequests } = plan.warmup;
      let previous: { requests: number; hits: number } = initial;
      let ended: WarmupOutcome['ended'] = 'cap';
      let lastFill = 0;
      while (sent.warmup < maxRequests) {
        await drivePhase({ ...load, nextPath: warmupPath, length: { requests: Math.min(windowRequests, maxRequests - sent.warmup) }, onTick: (n) => options.onTick?.('warm-up', sent.warmup - windowRequests + n) });
        const counts = await readCounts(true);
        const fill = counts.fill;
        const point = { ...pointBetween('warm-up', started, origin, previous, counts), cacheFill: fill };
        timeline.push(point);
        previous = counts;
        // Full, or no longer filling (the working set fits): then the hit ratio must have stopped rising.
        const filled = fill >= 0.95 || (timeline.length >= 2 && fill - lastFill < 0.01);
        lastFill = fill;
        const before = timeline.at(-2);
        if (filled && before && stoppedRising(before, point)) {
          ended = 'steady';
          break;
        }
      }
      warmup = { requests: sent.warmup, windows: timeline.length, ended, ms: Date.now() - started };
    } else {
      if (plan.warmup.kind === 'time' || plan.warmup.requests > 0) {
        await drivePhase({ ...load, nextPath: warmupPath, length: lengthOf(plan.warmup), onTick: (n) => options.onTick?.('warm-up', n) });
        const counts = await readCounts(true);
        timeline.push(pointBetween('warm-up', started, origin, initial, counts));
      }
      warmup = { requests: sent.warmup, windows: timeline.length, ended: 'fixed', ms: Date.now() - started };
    }
    const before = await scrapeSettled(lab);
    const edgeServices = lab.services.filter((s) => s.plan.role === 'edge' || s.plan.role === 'shield');
    const cpuBefore = await Promise.all(edgeServices.map((s) => readProcessTree(s.pid)));
    options.onPhase?.('measuring', plan.measure.kind === 'time' ? plan.measure.ms : 0);
    const sampler = sampleTimeline(() => readCounts(false), started, origin);
    const observe = external || options.observeCacheStatus;
    const client = await drivePhase({
      ...load,
      nextPath: () => {
        sent.measure++;
        const id = source.measure();
        measuredBodyBytes += source.sizeOf(id) ?? objectSize(catalogue, id);
        return source.pathOf(id);
      },
      length: lengthOf(plan.measure),
      onTick: (n) => options.onTick?.('measuring', n),
      ...(observe ? { observeCacheStatus: true } : {}),
      ...(external ? { hitHeader: (header: (name: string) => string | undefined) => servedFromServerCache(software, header) } : {}),
    });
    timeline.push(...mergeSmall(await sampler.stop(), MIN_POINT_REQUESTS));
    const after = await scrapeSettled(lab);
    const cpuAfter = await Promise.all(edgeServices.map((s) => readProcessTree(s.pid)));
    const processes: ProcessFigures[] = edgeServices.map((s, i) => ({
      id: s.plan.id,
      role: s.plan.role,
      software,
      cpuSeconds: (cpuAfter[i]?.cpuSeconds ?? NaN) - (cpuBefore[i]?.cpuSeconds ?? NaN),
      peakRssBytes: cpuAfter[i]?.peakRssBytes ?? NaN,
      rssBytes: cpuAfter[i]?.rssBytes ?? NaN,
      processes: cpuAfter[i]?.pids.length ?? 0,
    }));
    const edgeIds = lab.services.filter((s) => s.plan.role === 'edge').map((s) => s.plan.id);
    const headerBytes = await measureHeaderBytes(lab.edgeUrls[0]!, source.pathOf(0));
    const serverHits = client.cacheStatus?.hit;
    const cache = external
      ? cacheFiguresFromOrigin(before.origins, after.origins, { requests: client.requests, bodyBytes: measuredBodyBytes, ...(serverHits === undefined ? {} : { serverHits }) })
      : {
          ...cacheFigures(before, after, edgeIds),
          countedBy: 'edge-metrics' as const,
          ...(serverHits === undefined ? {} : { serverHitRatio: client.requests ? serverHits / client.requests : 0 }),
        };
    return {
      name: plan.name,
      topology: plan.topology,
      workload: plan.workload,
      client,
      cache,
      timeline,
      warmup,
      warmupRequests: sent.warmup,
      measuredRequests: sent.measure,
      run: plan.run ?? 0,
      simulated: simulateLiveRun({ topology: plan.topology, workload: plan.workload, run: plan.run ?? 0, warmupRequests: sent.warmup, measuredRequests: sent.measure, headerBytes }),
      services: lab.services.map((s) => ({ id: s.plan.id, role: s.plan.role, url: s.url })),
      processes,
    };
  } finally {
    options.onPhase?.('stopping', 0);
    await lab.stop();
  }
}
