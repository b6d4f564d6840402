// Turns before/after scrapes of the services' own counters into the figures a run reports.
import { SERVED_FROM_CACHE } from '@cdn-lab/service-kit';
import { sumAcross, sumMetric, type Scrape } from './scrape.ts';

/** The results a run counts as hits: service-kit's SERVED_FROM_CACHE, as the recording rules do. */
const CACHE_SERVED_RESULTS: string[] = [...SERVED_FROM_CACHE];

export interface LabScrapes {
  /** Client-facing edges, in the order of the edge ids. */
  edges: Scrape[];
  /** Edges behind them (a shield), which talk to the origin on their behalf. */
  innerEdges: Scrape[];
  origins: Scrape[];
}

export interface CacheFigures {
  /** Client requests the edges answered (a request forwarded between peers counts once). */
  edgeRequests: number;
  hitRatio: number;
  byteHitRatio: number;
  /** Requests the origins themselves counted (catalogue routes). */
  originRequests: number;
  /** Requests the edges say they sent to an origin. */
  edgeToOriginRequests: number;
  /** 1 - origin requests / client requests: the share of load the CDN kept off the origin. */
  originOffload: number;
  originBytes: number;
  /**
   * Edge-to-origin and origin counts agree (they must, or a counter is wrong). For a real cache
   * server: its own misses (by its hit/miss header, counted at the client) equal the origin's count.
   */
  countsAgree: boolean;
  /**
   * Where hits were counted. `edge-metrics`: the lab's edges' own counters (checked against the
   * origin's count). `origin`: for real cache servers, hit = a client request that did not reach
   * the origin (1 - origin requests / client requests; bytes likewise, from body sizes).
   */
  countedBy?: 'edge-metrics' | 'origin';
  /** The server's own verdict: share of measured responses its hit/miss header called a hit (when observed). */
  serverHitRatio?: number;
  perEdge: { edge: string; requests: number; hitRatio: number; cacheBytes: number; evictions: number }[];
}

/** Origin routes that serve the catalogue (the rest are health, metrics, admin). */
export const CATALOGUE_ROUTES = ['obj', 'short', 'nostore'];

function delta(before: Scrape[], after: Scrape[], name: string, match: Record<string, string | string[]> = {}): number {
  return sumAcross(after, name, match) - sumAcross(before, name, match);
}

/** Client-facing totals of a set of edge scrapes (cumulative counters). */
export interface ServedCounts {
  requests: number;
  hits: number;
  bytes: number;
  hitBytes: number;
}

/**
 * What the edges served to clients. With fleet sharding a request can pass through two edges: the
 * one the balancer chose (which forwards it, counting a miss with upstream="peer") and the owner
 * (which counts its own hit or miss). Only the owner's outcome is the client's, so the forwarding
 * legs are taken out.
 */
export function servedCounts(edges: Scrape[]): ServedCounts {
  return {
    requests: sumAcross(edges, 'edge_requests_total') - sumAcross(edges, 'edge_upstream_requests_total', { upstream: 'peer' }),
    hits: sumAcross(edges, 'edge_requests_total', { result: CACHE_SERVED_RESULTS }),
    bytes: sumAcross(edges, 'edge_response_bytes_total') - sumAcross(edges, 'edge_upstream_bytes_total', { upstream: 'peer' }),
    hitBytes: sumAcross(edges, 'edge_response_bytes_total', { result: CACHE_SERVED_RESULTS }),
  };
}

export function cacheFigures(before: LabScrapes, after: LabScrapes, edgeIds: string[]): CacheFigures {
  const start = servedCounts(before.edges);
  const end = servedCounts(after.edges);
  const edgeRequests = end.requests - start.requests;
  const hits = end.hits - start.hits;
  const bytes = end.bytes - start.bytes;
  const hitBytes = end.hitBytes - start.hitBytes;
  const originRequests = delta(before.origins, after.origins, 'origin_http_requests_total', { route: CATALOGUE_ROUTES });
  const edgeToOriginRequests = delta(
    [...before.edges, ...before.innerEdges],
    [...after.edges, ...after.innerEdges],
    'edge_upstream_requests_total',
    { upstream: 'origin' },
  );
  const originBytes = delta(before.origins, after.origins, 'origin_response_bytes_total', { route: CATALOGUE_ROUTES });
  const perEdge = edgeIds.map((edge, i) => {
    const requests = sumMetric(after.edges[i]!, 'edge_requests_total') - sumMetric(before.edges[i]!, 'edge_requests_total');
    const edgeHits =
      sumMetric(after.edges[i]!, 'edge_requests_total', { result: CACHE_SERVED_RESULTS }) -
      sumMetric(before.edges[i]!, 'edge_requests_total', { result: CACHE_SERVED_RESULTS });
    return {
      edge,
      requests,
      hitRatio: requests ? edgeHits / requests : 0,
      cacheBytes: sumMetric(after.edges[i]!, 'edge_cache_bytes'),
      evictions:
        sumMetric(after.edges[i]!, 'edge_cache_evictions_total', { reason: 'evict' }) -
        sumMetric(before.edges[i]!, 'edge_cache_evictions_total', { reason: 'evict' }),
    };
  });
  return {
    edgeRequests,
    hitRatio: edgeRequests ? hits / edgeRequests : 0,
    byteHitRatio: bytes ? hitBytes / bytes : 0,
    originRequests,
    edgeToOriginRequests,
    originOffload: edgeRequests ? 1 - originRequests / edgeRequests : 0,
    originBytes,
    countsAgree: originRequests === edgeToOriginRequests,
    perEdge,
  };
}

/** The origins' catalogue requests and body bytes (cumulative counters). */
export function originCounts(origins: Scrape[]): { requests: number; bytes: number } {
  return {
    requests: sumAcross(origins, 'origin_http_requests_total', { route: CATALOGUE_ROUTES }),
    bytes: sumAcross(origins, 'origin_response_bytes_total', { route: CATALOGUE_ROUTES }),
  };
}

/**
 * The figures of a run whose edges are real cache servers, which have no counters of ours: a hit
 * is a client request that did not reach the origin, a hit byte a body byte the origin did not
 * send. `serverHits` is what the servers' own hit/miss headers said, checked against the origin.
 */
export function cacheFiguresFromOrigin(
  before: Scrape[],
  after: Scrape[],
  client: { requests: number; bodyBytes: number; serverHits?: number },
): CacheFigures {
  const start = originCounts(before);
  const end = originCounts(after);
  const originRequests = end.requests - start.requests;
  const originBytes = end.bytes - start.bytes;
  const edgeToOriginRequests = client.serverHits === undefined ? originRequests : client.requests - client.serverHits;
  const hitRatio = client.requests ? 1 - originRequests / client.requests : 0;
  return {
    edgeRequests: client.requests,
    hitRatio,
    byteHitRatio: client.bodyBytes ? 1 - originBytes / client.bodyBytes : 0,
    originRequests,
    edgeToOriginRequests,
    originOffload: hitRatio,
    originBytes,
    countsAgree: edgeToOriginRequests === originRequests,
    perEdge: [],
    countedBy: 'origin',
    ...(client.serverHits === undefined ? {} : { serverHitRatio: client.requests ? client.serverHits / client.requests : 0 }),
  };
}
