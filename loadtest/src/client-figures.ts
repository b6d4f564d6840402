// What a load driver reports about one phase, read at the client: counts, status classes and the
// latency distribution (recorded in microseconds in an HDR histogram), and Cache-Status hits.
import * as hdr from 'hdr-histogram-js';

export interface DriveResult {
  requests: number;
  durationSeconds: number;
  requestsPerSecond: number;
  bytes: number;
  /** Responses with a status outside 2xx/3xx plus connection errors and timeouts. */
  errors: number;
  statusClasses: Record<'2xx' | '3xx' | '4xx' | '5xx', number>;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Latency distribution: [percentile, ms] points for a CDF chart. */
  latencyCdf: [number, number][];
  /** With observeCacheStatus: responses by what the server's own hit/miss header said (`hitHeader`). */
  cacheStatus?: { hit: number; other: number };
  /** How latency was measured: closed loop (from each send) or open loop (from each intended send). */
  latencyMode: 'closed-loop' | 'open-loop';
}

/** Percentiles sampled for the latency CDF: dense in the tail, where caching shows. */
export const CDF_PERCENTILES = [1, 5, 10, 20, 30, 40, 50, 60, 70, 80, 85, 90, 93, 95, 97, 98, 99, 99.5, 99.9, 100];

/** The latency histogram every driver records into: microseconds, 1 µs to 60 s, 3 digits. */
export function latencyHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
}

/** Percentiles and the CDF of a histogram recorded in microseconds, in ms. */
export function latencyFigures(histogram: hdr.Histogram): Pick<DriveResult, 'latencyMs' | 'latencyCdf'> {
  const toMs = (us: number) => us / 1000;
  return {
    latencyMs: {
      p50: toMs(histogram.getValueAtPercentile(50)),
      p95: toMs(histogram.getValueAtPercentile(95)),
      p99: toMs(histogram.getValueAtPercentile(99)),
      max: toMs(histogram.maxValue),
      mean: toMs(histogram.mean),
    },
    latencyCdf: CDF_PERCENTILES.map((p) => [p, toMs(histogram.getValueAtPercentile(p))]),
  };
}

/** Whether the edge nearest the client answered without a fetch of its own (RFC 9211: its member is last). */
export function servedFromCache(cacheStatusHeader: string): boolean {
  const nearest = cacheStatusHeader.split(',').at(-1) ?? '';
  return /;\s*(hit|collapsed)\s*(;|$)/.test(nearest);
}

/** Whether a response was served from cache, by its headers (names lower-case). */
export type HitClassifier = (header: (name: string) => string | undefined) => boolean;

/** The lab's edge: its Cache-Status member says hit or collapsed. */
export const cacheStatusHit: HitClassifier = (header) => servedFromCache(header('cache-status') ?? '');

/** A header getter over a raw name → value(s) record, whatever case the server wrote the names in. */
export function headerGetter(headers: Record<string, string | string[] | undefined> | undefined): (name: string) => string | undefined {
  const lower = new Map<string, string>();
  for (const [name, value] of Object.entries(headers ?? {})) if (value !== undefined) lower.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value);
  return (name) => lower.get(name);
}
