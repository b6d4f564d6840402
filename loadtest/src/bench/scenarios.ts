// What the bench measures. Hit scenarios ask for one warmed URL of a fixed size; the miss scenario
// asks for ids that never repeat; memory fills a 256 MiB edge cache and reads the edge's RSS;
// large-objects passes responses far larger than the cache through the edge and reads its peak RSS.
import { originEnv } from '@cdn-lab/origin/config';

export const SCENARIO_NAMES = ['hits-1k', 'hits-64k', 'misses', 'memory', 'large-objects'] as const;
export type ScenarioName = (typeof SCENARIO_NAMES)[number];

export interface HttpScenario {
  name: Exclude<ScenarioName, 'memory' | 'large-objects'>;
  kind: 'hits' | 'misses';
  /** Every catalogue object has exactly this size (SIZE_MIN_BYTES = SIZE_MAX_BYTES). */
  objectBytes: number;
  /**
   * Where the origin runs. Hits: with the load generator (it is idle once the URL is cached).
   * Misses: with the proxy, so the load generator has its core to itself and a miss costs
   * proxy + origin CPU on one core; the `origin` target (origin alone) gives the ceiling.
   */
  originCore: 'proxy' | 'loadgen';
  /** Edge goal relative to nginx (issue 8). */
  goal: { minThroughputRatio: number; maxP99Ratio?: number };
}

/** The URL every hit measurement asks for (any id of the catalogue would do). */
export const HIT_PATH = '/obj/7';

/** Largest catalogue the origin accepts: room for never-repeating miss ids. */
export const MISS_CATALOGUE_OBJECTS = 100_000_000;

export const HTTP_SCENARIOS: Record<HttpScenario['name'], HttpScenario> = {
  'hits-1k': { name: 'hits-1k', kind: 'hits', objectBytes: 1024, originCore: 'loadgen', goal: { minThroughputRatio: 0.8, maxP99Ratio: 2 } },
  'hits-64k': { name: 'hits-64k', kind: 'hits', objectBytes: 65536, originCore: 'loadgen', goal: { minThroughputRatio: 0.8 } },
  misses: { name: 'misses', kind: 'misses', objectBytes: 1024, originCore: 'proxy', goal: { minThroughputRatio: 0.7 } },
};

/** The origin's environment for a scenario: fixed-size objects, no injected latency or errors. */
export function originEnvFor(scenario: HttpScenario): Record<string, string> {
  return originEnv({
    catalogueObjects: scenario.kind === 'misses' ? MISS_CATALOGUE_OBJECTS : 1000,
    sizeMinBytes: scenario.objectBytes,
    sizeMaxBytes: scenario.objectBytes,
    latencyMs: 0,
    latencyJitterMs: 0,
    errorRate: 0,
  });
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
