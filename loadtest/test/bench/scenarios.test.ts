import test from 'ava';
import { catalogueSpecOf, originConfig, originConfigFromEnv } from '@cdn-lab/origin/config';
import { objectSize } from '@cdn-lab/origin/catalogue';
import { HTTP_SCENARIOS, MISS_CATALOGUE_OBJECTS, originEnvFor, parseNameList, SCENARIO_NAMES } from '../../src/bench/scenarios.ts';
import { missBlocksNeeded, targetsFor } from '../../src/bench/run.ts';
import { idsToFill } from '../../src/bench/memory.ts';
import { edgeBenchEnv } from '../../src/bench/proxies.ts';
import { edgeConfigFromEnv } from '@cdn-lab/edge-node/config';

test('each scenario gives the origin fixed-size objects and no faults; the origin accepts the env', (t) => {
  for (const scenario of Object.values(HTTP_SCENARIOS)) {
    const config = originConfigFromEnv(originEnvFor(scenario));
    t.is(config.sizeMinBytes, scenario.objectBytes);
    t.is(config.sizeMaxBytes, scenario.objectBytes);
    t.is(config.latencyMs, 0);
    t.is(config.errorRate, 0);
  }
  t.is(originConfigFromEnv(originEnvFor(HTTP_SCENARIOS.misses)).catalogueObjects, MISS_CATALOGUE_OBJECTS);
  t.is(HTTP_SCENARIOS['hits-1k'].objectBytes, 1024);
  t.is(HTTP_SCENARIOS['hits-64k'].objectBytes, 65536);
});

test('name lists: deduplicated, and a bad name is named with the valid ones', (t) => {
  t.deepEqual(parseNameList('misses, hits-1k,misses', SCENARIO_NAMES, 'scenario'), ['misses', 'hits-1k']);
  t.throws(() => parseNameList('hits-1k,hits-2k', SCENARIO_NAMES, 'scenario'), { message: /unknown scenario "hits-2k"; valid: hits-1k, hits-64k, hits-1k-one-url, misses, memory/ });
  t.throws(() => parseNameList(' , ', SCENARIO_NAMES, 'scenario'), { message: /no scenario given/ });
});

test('targets: proxies that can run here, plus the origin alone for misses', (t) => {
  const tools = { nginx: '/usr/sbin/nginx' };
  // varnishd missing: skipped; the edge entry point exists in the repository.
  t.deepEqual(targetsFor(HTTP_SCENARIOS['hits-1k'], ['nginx', 'varnish', 'edge'], tools), ['nginx', 'edge']);
  t.deepEqual(targetsFor(HTTP_SCENARIOS.misses, ['nginx'], tools), ['nginx', 'origin']);
  t.is(missBlocksNeeded({ rounds: 3, threads: 2 }, 4), 48);
});

test('idsToFill: the first ids whose sizes reach the byte count, no more', (t) => {
  const spec = catalogueSpecOf(originConfig());
  const target = 4 * 1024 * 1024;
  const fill = idsToFill(target, spec);
  const sizes = Array.from({ length: fill.count }, (_, id) => objectSize(spec, id));
  const total = sizes.reduce((a, b) => a + b, 0);
  t.is(fill.bytes, total);
  t.true(total >= target);
  t.true(total - sizes.at(-1)! < target, 'one id fewer would already have been enough');
  t.is(idsToFill(1, spec).count, 1);
});

test("the edge's bench env is valid for the edge: LRU, the given origin and cache size, logs on", (t) => {
  const config = edgeConfigFromEnv(edgeBenchEnv(18080, 'http://127.0.0.1:18081', 256 * 1024 * 1024));
  t.is(config.port, 18080);
  t.is(config.host, '127.0.0.1');
  t.deepEqual(config.upstreamUrls, ['http://127.0.0.1:18081']);
  t.is(config.cachePolicy, 'lru');
  t.is(config.cacheBytes, 256 * 1024 * 1024);
  t.is(config.logLevel, 'info');
  t.true(config.coalescing);
});
