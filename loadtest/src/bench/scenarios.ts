// What the bench measures. The hit scenarios ask for thousands of URLs with Zipf popularity, every
// one cached beforehand (what an edge sees: many objects, a few hot), plus the single-URL scenario
// kept as one row; the miss scenario asks for ids that never repeat; memory fills a 256 MiB edge
// cache and reads the edge's RSS; large-objects passes responses far larger than the cache through
// the edge and reads its peak RSS.
import { originEnv } from '@cdn-lab/origin/config';

export const SCENARIO_NAMES = ['hits-1k', 'hits-64k', 'hits-1k-one-url', 'misses', 'memory', 'large-objects'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface HttpScenario {
  name: Exclude<ScenarioName, 'memory' | 'large-objects'>;
  kind: 'hits' | 'misses';
  /**
   * Which URLs hits ask for: `zipf`: `/obj/0` .. `/obj/<objects-1>`, id k asked with weight
   * 1/(k+1)^exponent, every one fetched into the cache before timing; `one`: HIT_PATH only.
   */
  urls?: { kind: 'zipf'; objects: number; exponent: number } | { kind: 'one' };
  /** Every catalogue object has exactly this size (SIZE_MIN_BYTES = SIZE_MAX_BYTES). */
  objectBytes: number;
  /**
   * Where the origin runs. Hits: with the load generator (it is idle once the URL is cached).
   * Misses: with the proxy, so the load generator has its core to itself and a miss costs
   * proxy + origin CPU on one core; the `origin` target (origin alone) gives the ceiling.
   */
  originCore: 'proxy' | 'loadgen';
  /** Edge goal relative to nginx (issues 8 and 20). */
  goal: { minThroughputRatio: number; maxP99Ratio?: number };
}

/** The URL the single-URL hit scenario asks for (any id of the catalogue would do), and the hit check's. */
export const HIT_PATH = '/obj/7';

/**
 * Zipf exponent of the hit scenarios: 1.0, the classic fit of web and CDN request logs (measured
 * exponents mostly lie between 0.6 and 1). Over 10 000 URLs the hottest gets ~10% of requests and
 * half the requests go to the 85 hottest.
 */
export const ZIPF_EXPONENT = 1;

/** Largest catalogue the origin accepts: room for never-repeating miss ids. */
export const MISS_CATALOGUE_OBJECTS = 100_000_000;

export const HTTP_SCENARIOS: Record<HttpScenario['name'], HttpScenario> = {
  // 10 000 x 1 KiB and 2 000 x 64 KiB (125 MiB): both fit the default 256 MiB cache, so every request is a hit.
  'hits-1k': { name: 'hits-1k', kind: 'hits', urls: { kind: 'zipf', objects: 10_000, exponent: ZIPF_EXPONENT }, objectBytes: 1024, originCore: 'loadgen', goal: { minThroughputRatio: 0.8, maxP99Ratio: 2 } },
  'hits-64k': { name: 'hits-64k', kind: 'hits', urls: { kind: 'zipf', objects: 2_000, exponent: ZIPF_EXPONENT }, objectBytes: 65536, originCore: 'loadgen', goal: { minThroughputRatio: 0.8, maxP99Ratio: 2 } },
  'hits-1k-one-url': { name: 'hits-1k-one-url', kind: 'hits', urls: { kind: 'one' }, objectBytes: 1024, originCore: 'loadgen', goal: { minThroughputRatio: 0.8, maxP99Ratio: 2 } },
  misses: { name: 'misses', kind: 'misses', objectBytes: 1024, originCore: 'proxy', goal: { minThroughputRatio: 0.7, maxP99Ratio: 3 } },
};

/** The origin's environment for a scenario: fixed-size objects, no injected latency or errors. */
export function originEnvFor(scenario: HttpScenario): Record<string, string> {
  return originEnv({
    catalogueObjects: scenario.kind === 'misses' ? MISS_CATALOGUE_OBJECTS : Math.max(1000, zipfObjects(scenario)),
    sizeMinBytes: scenario.objectBytes,
    sizeMaxBytes: scenario.objectBytes,
    latencyMs: 0,
    latencyJitterMs: 0,
    errorRate: 0,
  });
}

/** How many URLs a hit scenario spreads over (0 for the single-URL and miss scenarios). */
export function zipfObjects(scenario: HttpScenario): number {
  return scenario.urls?.kind === 'zipf' ? scenario.urls.objects : 0;
}

/** Parses a comma-separated list against the allowed names; throws naming the bad item and the valid ones. */
export function parseNameList<T extends string>(text: string, allowed: readonly T[], what: string): T[] {
  const items = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new Error(`no ${what} given; valid: ${allowed.join(', ')}`);
  const out: T[] = [];
  for (const item of items) {
    if (!(allowed as readonly string[]).includes(item)) throw new Error(`unknown ${what} "${item}"; valid: ${allowed.join(', ')}`);
    if (!out.includes(item as T)) out.push(item as T);
  }
  return out;
}
