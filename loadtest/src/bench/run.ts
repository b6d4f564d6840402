// The HTTP bench: interleaved rounds over scenarios and targets, each target started fresh in front
// of a fresh origin, checked for correctness, warmed, then measured. Results are raw measurements;
// summarising is report.ts's job.
import http from 'node:http';
import path from 'node:path';
import { scrapeMetrics, sumMetric } from '../scrape.ts';
import type { LoadGenerator } from './loadgen.ts';
import { startOrigin, startProxy, unavailableReason, type EdgeLogDestination, type ProxyContext, type ProxyName, type Target, type TargetName, type Tools } from './proxies.ts';
import { readTreeCpuSeconds, type Memory, type Pinning } from '@cdn-lab/infra/local/processes';
import { HIT_PATH, HTTP_SCENARIOS, MISS_CATALOGUE_OBJECTS, originEnvFor, zipfObjects, type HttpScenario } from './scenarios.ts';
import { rotate } from './summary.ts';
import { COUNTER_STRIDE, type LoadResult, type LoadSpec } from './wrk.ts';
import { STATIC_PATH } from './nginx.ts';

/** Which core each party runs on; undefined cores (no taskset) mean unpinned. */
export interface Cores {
  proxy: Pinning;
  loadgen: Pinning;
}

export interface HttpBenchOptions {
  rounds: number;
  durationMs: number;
  warmupMs: number;
  connections: number;
  threads: number;
  scenarios: HttpScenario['name'][];
  proxies: ProxyName[];
  cacheBytes: number;
  edgeLog: EdgeLogDestination;
  edgeExecArgv: string[];
  /** Worker processes of the edge and nginx (--workers); bare-node and Varnish are as they are. */
  workers: number;
}

export interface Measurement {
  round: number;
  scenario: HttpScenario['name'];
  target: TargetName;
  /** Place of this target in its round's order (0 = first). */
  position: number;
  /** False: left out of the medians (did not start, wrong answers, broken connections). */
  ok: boolean;
  error?: string;
  /** Kept in the medians but worth a look: requests that timed out under overload. */
  warning?: string;
  load?: LoadResult;
  /** Requests the origin served for catalogue objects during the measured window. */
  originRequests?: number;
  /** The target's memory right after the measurement. */
  memory?: Memory;
  /** CPU time (user + system, the target's whole process tree) per answered request, in µs. */
  cpuUsPerRequest?: number;
  /** Misses: the origin's CPU per answered request, in µs (it shares the target's core). */
  originCpuUsPerRequest?: number;
}

export interface BenchEnvironment {
  tools: Tools;
  cores: Cores;
  generator: LoadGenerator;
  scratchDir: string;
  logDir: string;
  log: (line: string) => void;
}

/** How this run starts a proxy in front of the origin at `originPort`: its folders, core and tools, and the given settings. */
export function proxyContext(env: BenchEnvironment, originPort: number, settings: Pick<ProxyContext, 'cacheBytes' | 'edgeLog' | 'edgeExecArgv'> & { workers?: number }): ProxyContext {
  return {
    originPort,
    scratchDir: env.scratchDir,
    logDir: env.logDir,
    pinning: env.cores.proxy,
    tools: env.tools,
    cacheBytes: settings.cacheBytes,
    edgeLog: settings.edgeLog,
    workers: settings.workers ?? 1,
    edgeExecArgv: settings.edgeExecArgv,
  };
}

/** The targets a scenario measures: the available proxies, plus the origin alone for misses. */
export function targetsFor(scenario: HttpScenario, proxies: ProxyName[], tools: Tools): TargetName[] {
  const available: TargetName[] = proxies.filter((p) => unavailableReason(p, tools) === undefined);
  return scenario.kind === 'misses' ? [...available, 'origin'] : available;
}

/** Miss measurements (warm-up and measured) each take a fresh block of ids; this many fit the catalogue. */
export function missBlocksNeeded(options: Pick<HttpBenchOptions, 'rounds' | 'threads'>, targets: number): number {
  return options.rounds * targets * 2 * options.threads;
}

async function originObjectRequests(originUrl: string): Promise<number> {
  return sumMetric(await scrapeMetrics(originUrl), 'origin_http_requests_total', { route: 'obj' });
}

/** Fetches a path and checks status and size; returns the response headers. */
async function fetchChecked(url: string, expectedBytes: number): Promise<Headers> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`GET ${url} answered ${response.status}`);
  if (body.length !== expectedBytes) throw new Error(`GET ${url} sent ${body.length} bytes, expected ${expectedBytes}`);
  return response.headers;
}

/**
 * Asks for /obj/0 .. /obj/<objects-1> once per proxy worker, `concurrency` at a time over kept-alive
 * connections, so every URL of a Zipf hit scenario is cached before timing; every answer must be a
 * 200 of the expected size. With `workers` > 1 (an edge under node:cluster, each worker with its own
 * cache) the connections are opened one after another, which cluster's round-robin hands to the
 * workers in turn, so each group of `workers` consecutive connections has one on every worker, and
 * each URL is asked on every connection of a group.
 */
export async function fillCache(baseUrl: string, objects: number, expectedBytes: number, options: { concurrency?: number; workers?: number } = {}): Promise<void> {
  const concurrency = Math.min(options.concurrency ?? 16, objects);
  const workers = options.workers ?? 1;
  const agents: http.Agent[] = [];
  const get = (agent: http.Agent, id: number) =>
    new Promise<void>((resolve, reject) => {
      const req = http.get(`${baseUrl}/obj/${id}`, { agent, timeout: 10_000 }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`filling the cache: GET /obj/${id} answered ${res.statusCode}`));
          else if (bytes !== expectedBytes) reject(new Error(`filling the cache: GET /obj/${id} sent ${bytes} bytes, expected ${expectedBytes}`));
          else resolve();
        });
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`filling the cache: GET /obj/${id} got no answer within 10 s`)));
      req.on('error', reject);
    });
  try {
    // One connection per agent, each opened (by its first request) after the previous one answered.
    for (let i = 0; i < concurrency * workers; i++) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      await get(agent, 0);
    }
    let next = 1;
    const group = async (g: number) => {
      const members = agents.slice(g * workers, (g + 1) * workers);
      while (next < objects) {
        const id = next++;
        await Promise.all(members.map((agent) => get(agent, id)));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, (_, g) => group(g)));
  } finally {
    for (const agent of agents) agent.destroy();
  }
}

/** Correctness before timing: the hit URL is served whole and, by the second or third ask, from cache. */
async function checkHits(target: Target, scenario: HttpScenario): Promise<void> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const headers = await fetchChecked(`${target.url}${HIT_PATH}`, scenario.objectBytes);
    if (attempt > 0 && target.isHit(headers)) return;
  }
  throw new Error(`${target.name} did not serve ${HIT_PATH} from its cache after 3 requests`);
}

export async function runHttpBench(options: HttpBenchOptions, env: BenchEnvironment, onMeasurement: (m: Measurement) => void = () => {}): Promise<Measurement[]> {
  const measurements: Measurement[] = [];
  let nextMissBlock = 0;
  const missStart = () => {
    const start = 1 + nextMissBlock * options.threads * COUNTER_STRIDE;
    nextMissBlock++;
    if (start + options.threads * COUNTER_STRIDE > MISS_CATALOGUE_OBJECTS) {
      throw new Error(`misses: out of never-used ids (${MISS_CATALOGUE_OBJECTS} objects); use fewer --rounds or threads`);
    }
    return start;
  };

  for (let round = 0; round < options.rounds; round++) {
    for (const scenarioName of options.scenarios) {
      const scenario = HTTP_SCENARIOS[scenarioName];
      const order = rotate(targetsFor(scenario, options.proxies, env.tools), round);
      if (order.length === 0) continue;
      env.log(`round ${round + 1}/${options.rounds} ${scenario.name}: ${order.join(', ')}`);
      let origin: Awaited<ReturnType<typeof startOrigin>>;
      try {
        origin = await startOrigin({
          env: originEnvFor(scenario),
          pinning: scenario.originCore === 'proxy' ? env.cores.proxy : env.cores.loadgen,
          logDir: env.logDir,
        });
      } catch (error) {
        // No origin, no measurement: every target of this scenario fails this round, the run goes on.
        const message = `origin did not start: ${error instanceof Error ? error.message : String(error)}`;
        env.log(`  ${message}`);
        for (const [position, target] of order.entries()) {
          const failed: Measurement = { round, scenario: scenario.name, target, position, ok: false, error: message };
          measurements.push(failed);
          onMeasurement(failed);
        }
        continue;
      }
      try {
        for (const [position, targetName] of order.entries()) {
          const measurement = await measureOne(scenario, targetName, origin, { round, position }, options, env, missStart);
          measurements.push(measurement);
          onMeasurement(measurement);
        }
      } finally {
        await origin.stop();
      }
    }
  }
  return measurements;
}

async function measureOne(
  scenario: HttpScenario,
  targetName: TargetName,
  origin: Target & { port: number },
  where: { round: number; position: number },
  options: HttpBenchOptions,
  env: BenchEnvironment,
  missStart: () => number,
): Promise<Measurement> {
  const base = { round: where.round, scenario: scenario.name, target: targetName, position: where.position };
  const ctx = proxyContext(env, origin.port, options);
  let target: Target | undefined;
  try {
    target = targetName === 'origin' ? origin : await startProxy(targetName, ctx);
    const objects = zipfObjects(scenario);
    const pattern = (): LoadSpec['pattern'] => {
      if (scenario.kind === 'misses') return { kind: 'counter', start: missStart() };
      // The same request sequence for every target of a round; another one each round.
      if (scenario.urls?.kind === 'zipf') return { kind: 'zipf', objects, exponent: scenario.urls.exponent, seed: 1 + where.round * 1000 };
      return { kind: 'fixed', path: HIT_PATH };
    };
    const spec = (durationMs: number): LoadSpec => ({ baseUrl: target!.url, pattern: pattern(), connections: options.connections, threads: options.threads, durationMs });
    if (objects > 0) await fillCache(target.url, objects, scenario.objectBytes, { workers: targetName === 'edge' || targetName === 'edge-nolog' ? options.workers : 1 });
    if (scenario.kind === 'hits') await checkHits(target, scenario);
    else await fetchChecked(`${target.url}/obj/0`, scenario.objectBytes);
    if (options.warmupMs > 0) await env.generator.run(spec(options.warmupMs));
    const before = await originObjectRequests(origin.url);
    const cpuBefore = await readTreeCpuSeconds(target.pid);
    const originCpuBefore = scenario.kind === 'misses' && target !== origin ? await readTreeCpuSeconds(origin.pid) : undefined;
    const load = await env.generator.run(spec(options.durationMs));
    const cpuAfter = await readTreeCpuSeconds(target.pid);
    const originCpuAfter = originCpuBefore === undefined ? undefined : await readTreeCpuSeconds(origin.pid);
    const originRequests = (await originObjectRequests(origin.url)) - before;
    const perRequestUs = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || load.requests === 0 ? undefined : ((b - a) * 1e6) / load.requests);
    const cpuUsPerRequest = perRequestUs(cpuBefore, cpuAfter);
    const originCpuUsPerRequest = perRequestUs(originCpuBefore, originCpuAfter);
    const memory = await target.memory();
    const problems = [
      load.non2xx > 0 ? `${load.non2xx} responses outside 2xx/3xx` : '',
      load.errors > 0 ? `${load.errors} socket errors` : '',
    ].filter(Boolean);
    const warning = load.timeouts > 0 ? `${load.timeouts} requests timed out` : undefined;
    const notes = [...problems, ...(warning ? [warning] : [])];
    env.log(
      `  ${targetName.padEnd(11)} ${Math.round(load.requestsPerSec).toString().padStart(7)} req/s  p99 ${load.latencyMs.p99.toFixed(2)} ms  CPU ${cpuUsPerRequest?.toFixed(1) ?? '-'} µs/req  origin ${originRequests}${notes.length ? `  (${notes.join(', ')})` : ''}`,
    );
    return {
      ...base,
      ok: problems.length === 0,
      ...(problems.length ? { error: problems.join('; ') } : {}),
      ...(warning ? { warning } : {}),
      load,
      originRequests,
      ...(memory ? { memory } : {}),
      ...(cpuUsPerRequest !== undefined ? { cpuUsPerRequest } : {}),
      ...(originCpuUsPerRequest !== undefined ? { originCpuUsPerRequest } : {}),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    env.log(`  ${targetName.padEnd(11)} failed: ${message}`);
    return { ...base, ok: false, error: message };
  } finally {
    if (target && target !== origin) await target.stop();
  }
}

export interface GeneratorCeiling {
  /** What was measured, in words. */
  what: string;
  load: LoadResult;
}

/**
 * The load generator's ceiling here: wrk (or autocannon) against a 1 KiB answer nginx makes itself
 * on the proxy core, the cheapest server at hand. Hit rates well below it were not limited by the
 * generator. Undefined (with a log line) when nginx is not available.
 */
export async function measureGeneratorCeiling(options: HttpBenchOptions, env: BenchEnvironment): Promise<GeneratorCeiling | undefined> {
  const reason = unavailableReason('nginx', env.tools);
  if (reason) {
    env.log(`generator ceiling: not measured (${reason})`);
    return undefined;
  }
  const origin = await startOrigin({ env: originEnvFor(HTTP_SCENARIOS['hits-1k-one-url']), pinning: env.cores.loadgen, logDir: env.logDir });
  let nginx: Target | undefined;
  try {
    nginx = await startProxy('nginx', proxyContext(env, origin.port, { cacheBytes: options.cacheBytes, edgeLog: 'discard', edgeExecArgv: [] }));
    await fetchChecked(`${nginx.url}${STATIC_PATH}`, 1024);
    const spec: LoadSpec = { baseUrl: nginx.url, pattern: { kind: 'fixed', path: STATIC_PATH }, connections: options.connections, threads: options.threads, durationMs: options.durationMs };
    if (options.warmupMs > 0) await env.generator.run({ ...spec, durationMs: options.warmupMs });
    const load = await env.generator.run(spec);
    env.log(`generator ceiling: ${env.generator.name} against nginx's own 1 KiB answer: ${Math.round(load.requestsPerSec)} req/s, p99 ${load.latencyMs.p99.toFixed(2)} ms`);
    return { what: `${env.generator.name} against nginx's own 1 KiB answer (return 200) on the proxy core`, load };
  } catch (error) {
    env.log(`generator ceiling: failed: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  } finally {
    await nginx?.stop();
    await origin.stop();
  }
}

/** Where each party runs, in words, for the report. */
export function describeCores(cores: Cores): string {
  if (cores.proxy.cpu === undefined) return 'unpinned (taskset not found): proxy, origin and load generator share all cores';
  const shared = String(cores.proxy.cpu).split(',').includes(String(cores.loadgen.cpu)) ? ' (shared: the proxy has several workers)' : '';
  return `proxy on CPU ${cores.proxy.cpu}, load generator on CPU ${cores.loadgen.cpu}${shared}; origin with the load generator for hits, with the proxy for misses (taskset)`;
}

export const LOG_DIR_NAME = 'logs';
export const logDirOf = (outDir: string) => path.join(outDir, LOG_DIR_NAME);
