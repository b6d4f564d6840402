// Live versus simulated: replays the very request streams a live run sent (same workload seeds and
// request counts) through the same policy code offline, one cache per edge, splitting requests
// across edges the way the balancer does. If the live hit ratio and this one disagree by more
// than a couple of points, something other than the policy (coalescing, expiry, timing) is at work.
import { createPolicy } from '@cdn-lab/edge-node/policies/registry';
import { HashRing } from '@cdn-lab/service-kit';
import { catalogueSpecOf, originConfig } from '@cdn-lab/origin/config';
import { objectSize } from '@cdn-lab/origin/catalogue';
import { serviceIds, type Topology } from '@cdn-lab/infra/topology';
import { requestSource, type WorkloadSpec } from './workload.ts';
import { nextUses, replayBelady } from './sim/belady.ts';

/** Live and simulated may differ by this much (hit ratio, absolute) before the report flags it. */
export const LIVE_SIM_TOLERANCE = 0.02;

export interface SimulatedFigures {
  hitRatio: number;
  byteHitRatio: number;
  /** Whether this topology can be replayed offline faithfully (see `simulateLiveRun`). */
  comparable: boolean;
  why?: string;
  /** The lab policy replayed (a real cache server's nearest equivalent; see `simulatedPolicy`). */
  policy?: string;
  /**
   * Belady's furthest-next-use rule over the same requests, edges and byte budgets, counted over
   * the measured requests after the warm-up ones: with sizes a heuristic bound, not the optimum.
   */
  belady?: { hitRatio: number; byteHitRatio: number };
}

/**
 * The lab policy that behaves like an edge's: its own for the lab's edge; LRU for nginx, Varnish
 * and Squid's lru; FIFO for Traffic Server, whose disk cache (which bounds what it holds) is
 * overwritten in write order whatever its RAM cache's algorithm. Squid's GDSF and LFUDA have no
 * counterpart here (undefined).
 */
export function simulatedPolicy(edges: Topology['edges']): string | undefined {
  switch (edges.software) {
    case 'cdn-lab':
      return edges.policy;
    case 'trafficserver':
      return 'fifo';
    default:
      return edges.policy === 'lru' ? 'lru' : undefined;
  }
}

export interface LiveRunShape {
  topology: Topology;
  workload: WorkloadSpec;
  /** Repetition number, which selects the request streams. */
  run: number;
  /** Requests the live run's source produced for each phase (sent, answered or still in flight). */
  warmupRequests: number;
  measuredRequests: number;
  /** Bytes the edge stores per entry beyond the body (its precomputed header block). */
  headerBytes: number;
}

/**
 * Simulates the client-facing edges of one live run. A request is served by edge `i mod N` (round
 * robin and the load-aware algorithms, which spread evenly), or by the key's owner on the same
 * hash ring the balancer uses (consistent hashing) or the fleet uses (sharding: only the owner
 * stores). A shield only changes what happens after an edge misses, so edges alone are replayed.
 */
export function simulateLiveRun(run: LiveRunShape): SimulatedFigures {
  const { topology, workload } = run;
  if (workload.pathClass !== 'obj') {
    return { hitRatio: NaN, byteHitRatio: NaN, comparable: false, why: `path class "${workload.pathClass}" expires or is not stored` };
  }
  const catalogue = catalogueSpecOf(originConfig({ catalogueObjects: topology.origin.objects, catalogueSeed: topology.origin.seed }));
  const edgeIds = Array.from({ length: topology.edges.count }, (_, i) => serviceIds.edge(i));
  const policy = simulatedPolicy(topology.edges);
  const comparable = policy !== undefined;
  const caches = edgeIds.map(() =>
    createPolicy<number, true>(policy ?? 'lru', {
      capacityBytes: topology.edges.cacheBytes,
      ...(topology.edges.maxObjects ? { maxObjects: topology.edges.maxObjects } : {}),
    }),
  );
  const hashed =
    topology.edges.tiering === 'sharded' || topology.balancer.algorithm === 'consistent-hash' || topology.balancer.algorithm === 'bounded-load';
  const ring = hashed ? new HashRing(edgeIds) : undefined;
  const edgeIndex = new Map(edgeIds.map((id, i) => [id, i]));
  let sequence = 0;
  const source = requestSource(workload, topology.origin.objects, run.run);
  // Each edge's own request sequence, for the Belady replay after this one.
  const perEdge = edgeIds.map(() => ({ keys: [] as number[], sizes: [] as number[], measuredFrom: 0 }));
  const replay = (next: () => number, requests: number, count: boolean) => {
    let hits = 0;
    let bytes = 0;
    let hitBytes = 0;
    for (let i = 0; i < requests; i++) {
      const id = next();
      const path = source.pathOf(id);
      const edge = ring ? edgeIndex.get(ring.lookup(path)!)! : sequence++ % caches.length;
      const cache = caches[edge]!;
      const body = source.sizeOf(id) ?? objectSize(catalogue, id);
      perEdge[edge]!.keys.push(id);
      perEdge[edge]!.sizes.push(body);
      if (cache.get(id) !== undefined) {
        hits++;
        hitBytes += body;
      } else {
        cache.set(id, true, body + run.headerBytes);
      }
      bytes += body;
    }
    return count ? { hits, bytes, hitBytes } : undefined;
  };
  replay(source.warmup, run.warmupRequests, false);
  for (const edge of perEdge) edge.measuredFrom = edge.keys.length;
  const measured = replay(source.measure, run.measuredRequests, true)!;
  let beladyHits = 0;
  let beladyHitBytes = 0;
  for (const edge of perEdge) {
    const keys = Int32Array.from(edge.keys);
    // Entries weigh what the live edge stores (body and headers); byte hits count bodies.
    const counts = replayBelady(keys, Float64Array.from(edge.sizes, (size) => size + run.headerBytes), nextUses(keys), topology.edges.cacheBytes, false, undefined, edge.measuredFrom);
    beladyHits += counts.hits;
    beladyHitBytes += counts.hitBytes - counts.hits * run.headerBytes;
  }
  return {
    hitRatio: comparable && run.measuredRequests ? measured.hits / run.measuredRequests : comparable ? 0 : NaN,
    byteHitRatio: comparable && measured.bytes ? measured.hitBytes / measured.bytes : comparable ? 0 : NaN,
    comparable,
    ...(comparable ? { policy } : { why: `${topology.edges.software}'s ${topology.edges.policy} has no offline counterpart` }),
    belady: {
      hitRatio: run.measuredRequests ? beladyHits / run.measuredRequests : 0,
      byteHitRatio: measured.bytes ? beladyHitBytes / measured.bytes : 0,
    },
  };
}

/**
 * The mean body size of the distinct objects a workload asks for in its first 20,000 requests: what
 * a cache of a given budget holds, in objects (header bytes aside).
 */
export function meanObjectBytes(topology: Topology, workload: WorkloadSpec): number {
  const catalogue = catalogueSpecOf(originConfig({ catalogueObjects: topology.origin.objects, catalogueSeed: topology.origin.seed }));
  const source = requestSource(workload, topology.origin.objects, 0);
  const distinct = new Set<number>();
  for (let i = 0; i < 20_000; i++) distinct.add(source.warmup());
  let total = 0;
  for (const id of distinct) total += source.sizeOf(id) ?? objectSize(catalogue, id);
  return total / Math.max(1, distinct.size);
}

/** Headers an edge adds per response rather than storing (they are not part of an entry's size). */
const PER_RESPONSE_HEADERS = new Set(['age', 'cache-status', 'connection', 'keep-alive', 'transfer-encoding', 'x-served-by']);

/** The header bytes an edge stores with an entry, read off one real response (name + value lengths). */
export async function measureHeaderBytes(edgeUrl: string, path: string): Promise<number> {
  const response = await fetch(`${edgeUrl}${path}`);
  await response.arrayBuffer();
  let bytes = 0;
  response.headers.forEach((value, name) => {
    if (!PER_RESPONSE_HEADERS.has(name)) bytes += name.length + value.length;
  });
  return bytes;
}
