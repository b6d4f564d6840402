// Every dashboard panel's PromQL against a real Prometheus that scraped a real local lab under
// load: origin, shield, edges and balancer as processes on loopback, the Debian `prometheus` binary
// with the rendered config and rules (1 s scrapes and evaluations), then each query through the
// HTTP API with Grafana's variables filled in. Also `promtool check metrics` on every /metrics.
import test from 'ava';
import { parseTopology } from '@cdn-lab/infra/topology';
import { startLab, type Lab } from '@cdn-lab/infra/local/lab';
import { scrapeTargets } from '../src/prometheus.ts';
import { startPrometheus, type RunningPrometheus } from '../src/prometheus-process.ts';
import { ALERT_GROUPS, RECORDED, RECORDING_GROUPS } from '../src/rules.ts';
import { panelQueries, substituteVariables, type PanelQuery } from '../src/queries.ts';
import { HAS_PROMETHEUS, HAS_PROMTOOL, promtool } from './helpers/promtool.ts';

const live = HAS_PROMETHEUS && HAS_PROMTOOL ? test : (test.skip as unknown as typeof test);
if (!HAS_PROMETHEUS || !HAS_PROMTOOL) {
  process.stderr.write('panels-live.test.ts: prometheus/promtool not on PATH (apt-get install -y prometheus); live panel tests skipped\n');
}

/** What the panel queries are evaluated with: Grafana's variables and a range covering the load. */
const VARIABLES = { interval: '1m', range: '5m', values: { node: 'edge-0', search: '' } };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface PromResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: { metric: Record<string, string>; value?: [number, string]; values?: [number, string][] }[] };
}

let lab: Lab | undefined;
let prometheus: RunningPrometheus | undefined;

async function query(pathAndQuery: string): Promise<PromResponse> {
  const response = await fetch(`${prometheus!.url}${pathAndQuery}`, { signal: AbortSignal.timeout(10_000) });
  return (await response.json()) as PromResponse;
}

async function instant(expr: string): Promise<PromResponse> {
  return query(`/api/v1/query?query=${encodeURIComponent(expr)}`);
}

/** Finite values in a query's result (a NaN-only answer is not data a panel can draw). */
function finiteValues(result: PromResponse): number[] {
  const samples = (result.data?.result ?? []).flatMap((series) => (series.values ?? (series.value ? [series.value] : [])).map(([, v]) => Number(v)));
  return samples.filter((v) => Number.isFinite(v));
}

async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (${String(last)})` : ''}\nprometheus output:\n${prometheus?.output().slice(-2000)}`);
}

/** Client traffic with hits (a hot set), misses and evictions (a long tail), short TTLs, no-store and bad requests. */
async function generateLoad(baseUrl: string, durationMs: number): Promise<{ sent: number; failed: number }> {
  let sent = 0;
  let failed = 0;
  let n = 0;
  const deadline = Date.now() + durationMs;
  const pick = () => {
    n++;
    const r = (n * 7919) % 100;
    if (r < 60) return `/obj/${n % 8}`;
    if (r < 85) return `/obj/${8 + (n % 190)}`;
    if (r < 92) return `/short/${n % 20}`;
    if (r < 97) return `/nostore/${n % 20}`;
    return `/obj/not-a-number-${n % 3}`;
  };
  const worker = async () => {
    while (Date.now() < deadline) {
      try {
        const response = await fetch(`${baseUrl}${pick()}`, { signal: AbortSignal.timeout(5000) });
        await response.arrayBuffer();
        sent++;
      } catch {
        failed++;
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return { sent, failed };
}

test.before(async () => {
  if (!HAS_PROMETHEUS || !HAS_PROMTOOL) return;
  lab = await startLab(
    parseTopology({
      origin: { count: 1, objects: 200, latencyMs: 2, jitterMs: 1 },
      edges: { count: 2, policy: 'lru', cacheBytes: '96KiB', tiering: 'shield' },
      balancer: { algorithm: 'round-robin', healthIntervalMs: 500 },
    }),
    { env: { LOG_LEVEL: 'warn' } },
  );
  // The balancer's metrics are on its own listener, apart from the clients' port.
  const metricsHostOf = new Map(lab.services.map((service) => [service.plan.id, new URL(service.metricsUrl).host]));
  const targets = scrapeTargets(
    lab.services.map((service) => service.plan),
    (id) => metricsHostOf.get(id)!,
  );
  prometheus = await startPrometheus({ targets, scrapeIntervalSeconds: 1 });
  // Load while Prometheus scrapes, so every rate window of the last minute holds traffic.
  await generateLoad(lab.balancerUrl, 8000);
  await waitFor('every target up and the recording rules evaluated', 20_000, async () => {
    const up = finiteValues(await instant('sum(up)'))[0];
    const recorded = finiteValues(await instant('fleet:hit_ratio:rate1m')).length;
    return up === lab!.services.length && recorded > 0 ? true : undefined;
  });
  // A few more seconds of load and scrapes so quantiles and ratios cover several samples.
  await generateLoad(lab.balancerUrl, 3000);
  await sleep(2500);
});

test.after.always(async () => {
  await prometheus?.stop();
  await lab?.stop();
});

async function runPanelQuery(q: PanelQuery): Promise<PromResponse> {
  const expr = substituteVariables(q.expr, 'prometheus', VARIABLES);
  if (q.instant) return instant(expr);
  // Grafana draws range panels from query_range: the last 30 s at a 1 s step.
  const end = Date.now() / 1000;
  return query(`/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${end - 30}&end=${end}&step=1`);
}

live('every Prometheus panel query returns finite data from the scraped lab', async (t) => {
  const queries = panelQueries().filter((q) => q.datasource === 'prometheus');
  t.true(queries.length >= 40);
  const empty: string[] = [];
  for (const q of queries) {
    const result = await runPanelQuery(q);
    t.is(result.status, 'success', `${q.dashboard} / ${q.panel} / ${q.refId}: ${result.error ?? ''}`);
    if (finiteValues(result).length === 0) empty.push(`${q.dashboard} / ${q.panel} / ${q.refId}: ${substituteVariables(q.expr, 'prometheus', VARIABLES)}`);
  }
  t.deepEqual(empty, [], 'panels without data');
});

live('recorded ratios are ratios and the load produced hits and misses', async (t) => {
  const hitRatio = finiteValues(await instant('fleet:hit_ratio:rate1m'))[0]!;
  t.true(hitRatio > 0 && hitRatio < 1, `fleet hit ratio ${hitRatio}`);
  const offload = finiteValues(await instant('fleet:origin_offload:rate1m'))[0]!;
  t.true(offload > 0 && offload <= 1, `origin offload ${offload}`);
  const evictions = finiteValues(await instant('sum(edge_cache_evictions_total{reason="evict"})'))[0]!;
  t.true(evictions > 0, 'the small caches evicted');
});

live('every recorded series has data', async (t) => {
  const empty: string[] = [];
  for (const name of new Set(Object.values(RECORDED))) {
    if (finiteValues(await instant(name)).length === 0) empty.push(name);
  }
  t.deepEqual(empty, []);
});

live('Prometheus loaded every rule group and evaluates every rule without error', async (t) => {
  const response = (await (await fetch(`${prometheus!.url}/api/v1/rules`)).json()) as {
    data: { groups: { name: string; rules: { name: string; health: string; lastError?: string }[] }[] };
  };
  const groups = response.data.groups;
  t.deepEqual(groups.map((g) => g.name).sort(), [...RECORDING_GROUPS, ...ALERT_GROUPS].map((g) => g.name).sort());
  const unhealthy = groups.flatMap((g) => g.rules.filter((r) => r.health !== 'ok').map((r) => `${g.name}/${r.name}: ${r.health} ${r.lastError ?? ''}`));
  t.deepEqual(unhealthy, []);
});

live('a query with a made-up metric comes back empty (the data check can fail)', async (t) => {
  const result = await instant('sum(rate(edge_no_such_metric_total[1m]))');
  t.is(result.status, 'success');
  t.deepEqual(finiteValues(result), []);
});

live('promtool check metrics finds no problems on any service\'s /metrics', async (t) => {
  const kinds = new Set<string>();
  for (const service of lab!.services) {
    const text = await (await fetch(`${service.metricsUrl}/metrics`)).text();
    const result = promtool(['check', 'metrics'], text);
    t.is(result.status, 0, `${service.plan.id}: ${result.output}`);
    kinds.add(service.plan.kind);
  }
  t.deepEqual([...kinds].sort(), ['balancer', 'edge', 'origin']);
});
