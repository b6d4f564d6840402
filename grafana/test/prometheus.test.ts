import test from 'ava';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { parseTopology } from '@cdn-lab/infra/topology';
import { planServices } from '@cdn-lab/infra/plan';
import {
  prometheusArgs,
  renderFileSdTargets,
  renderPrometheusConfig,
  scrapeTargets,
  ScrapeConfigError,
  type ScrapeTarget,
} from '../src/prometheus.ts';
import { GRAFANA_DIR, RULE_FILES } from '../src/render.ts';
import { promtool, promtoolTest } from './helpers/promtool.ts';

const ptest = promtoolTest('prometheus.test.ts');

const plans = planServices(parseTopology({ origin: { count: 2 }, edges: { count: 3, policy: 'lru', tiering: 'shield' } }));
let nextPort = 4000;
const ports = new Map(plans.map((plan) => [plan.id, nextPort++]));
const targets = scrapeTargets(plans, (id) => `127.0.0.1:${ports.get(id)}`);

interface StaticConfig {
  targets: string[];
  labels: Record<string, string>;
}
interface Job {
  job_name: string;
  honor_labels: boolean;
  static_configs?: StaticConfig[];
  file_sd_configs?: { files: string[] }[];
}

test('one job per kind, every service a target with instance = id and the plan labels', (t) => {
  const config = parse(renderPrometheusConfig({ targets, scrapeIntervalSeconds: 1 })) as { global: Record<string, string>; scrape_configs: Job[] };
  t.deepEqual(config.scrape_configs.map((job) => job.job_name), ['origin', 'edge', 'balancer']);
  t.is(config.global.scrape_interval, '1s');
  t.is(config.global.evaluation_interval, '1s');
  const all = config.scrape_configs.flatMap((job) => (job.static_configs ?? []).map((sc) => ({ job: job.job_name, ...sc })));
  t.is(all.length, plans.length);
  for (const plan of plans) {
    const entry = all.find((sc) => sc.labels.instance === plan.id);
    t.truthy(entry, plan.id);
    t.is(entry!.job, plan.kind);
    t.deepEqual(entry!.targets, [`127.0.0.1:${ports.get(plan.id)}`]);
    t.like(entry!.labels, plan.labels);
  }
  const shield = all.find((sc) => sc.labels.instance === 'shield-0');
  t.is(shield?.labels.tier, 'shield');
});

test('rule files are listed when given and left out otherwise', (t) => {
  const withRules = parse(renderPrometheusConfig({ targets, ruleFiles: ['/x/recording.yml', '/x/alerts.yml'] })) as { rule_files?: string[] };
  t.deepEqual(withRules.rule_files, ['/x/recording.yml', '/x/alerts.yml']);
  const without = parse(renderPrometheusConfig({ targets })) as { rule_files?: string[] };
  t.is(without.rule_files, undefined);
});

test('file_sd mode points each job at <dir>/<kind>.json and renders those files', (t) => {
  const config = parse(renderPrometheusConfig({ targets, fileSdDirectory: '/tmp/sd' })) as { scrape_configs: Job[] };
  t.deepEqual(config.scrape_configs.map((job) => job.file_sd_configs?.[0]?.files), [['/tmp/sd/origin.json'], ['/tmp/sd/edge.json'], ['/tmp/sd/balancer.json']]);
  t.true(config.scrape_configs.every((job) => job.static_configs === undefined));
  const edges = JSON.parse(renderFileSdTargets(targets, 'edge')) as StaticConfig[];
  t.deepEqual(edges.map((group) => group.labels.instance), ['edge-0', 'edge-1', 'edge-2', 'shield-0']);
});

test('bad targets and intervals are refused with the offending value named', (t) => {
  const good: ScrapeTarget = { id: 'edge-0', kind: 'edge', address: '127.0.0.1:4001', labels: {} };
  t.throws(() => renderPrometheusConfig({ targets: [{ ...good, address: 'http://127.0.0.1:4001' }] }), { instanceOf: ScrapeConfigError, message: /edge-0.*not host:port/ });
  t.throws(() => renderPrometheusConfig({ targets: [good, good] }), { message: /edge-0 appears twice/ });
  t.throws(() => renderPrometheusConfig({ targets: [{ ...good, labels: { 'bad-name': 'x' } }] }), { message: /"bad-name" is not a valid label name/ });
  t.throws(() => renderPrometheusConfig({ targets: [{ ...good, kind: 'cache' as never }] }), { message: /unknown kind "cache"/ });
  t.throws(() => renderPrometheusConfig({ targets: [good], scrapeIntervalSeconds: 0.5 }), { message: /scrapeIntervalSeconds/ });
});

test('prometheusArgs gives config, storage and listen flags, lifecycle only on request', (t) => {
  const args = prometheusArgs({ configFile: '/c/prometheus.yml', dataDir: '/d', listenAddress: '127.0.0.1:9091' });
  t.true(args.includes('--config.file=/c/prometheus.yml'));
  t.true(args.includes('--storage.tsdb.path=/d'));
  t.true(args.includes('--web.listen-address=127.0.0.1:9091'));
  t.false(args.includes('--web.enable-lifecycle'));
  t.true(prometheusArgs({ configFile: 'c', dataDir: 'd', listenAddress: '127.0.0.1:1', enableLifecycle: true }).includes('--web.enable-lifecycle'));
  t.throws(() => prometheusArgs({ configFile: 'c', dataDir: 'd', listenAddress: '9090' }), { message: /listenAddress "9090"/ });
});

ptest('promtool check config accepts the rendered config with the committed rule files', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdn-prom-config-'));
  const configFile = path.join(dir, 'prometheus.yml');
  const ruleFiles = Object.values(RULE_FILES).map((file) => path.join(GRAFANA_DIR, file));
  writeFileSync(configFile, renderPrometheusConfig({ targets, scrapeIntervalSeconds: 1, ruleFiles }));
  const result = promtool(['check', 'config', configFile]);
  t.is(result.status, 0, result.output);
  // promtool also checks each referenced rule file: make sure it really found them.
  t.regex(result.output, /SUCCESS: \d+ rules found/);
});

ptest('promtool check config accepts the Docker flavour (container addresses, external labels, rule paths in the container)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdn-prom-config-'));
  const configFile = path.join(dir, 'prometheus.yml');
  const dockerTargets = scrapeTargets(plans, (id) => `${id}:8080`);
  writeFileSync(configFile, renderPrometheusConfig({ targets: dockerTargets, scrapeIntervalSeconds: 15, externalLabels: { lab: 'docker' } }));
  const result = promtool(['check', 'config', configFile]);
  t.is(result.status, 0, result.output);
  const config = parse(renderPrometheusConfig({ targets: dockerTargets, externalLabels: { lab: 'docker' } })) as { global: { external_labels: Record<string, string> } };
  t.deepEqual(config.global.external_labels, { lab: 'docker' });
});

ptest('promtool check config rejects a config whose rule file is missing (the check has teeth)', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdn-prom-config-'));
  const configFile = path.join(dir, 'prometheus.yml');
  writeFileSync(configFile, renderPrometheusConfig({ targets, ruleFiles: [path.join(dir, 'missing.yml')] }));
  t.not(promtool(['check', 'config', configFile]).status, 0);
});

test('startPrometheus names a binary that cannot run', async (t) => {
  const { startPrometheus, hasPrometheusBinary, PrometheusStartError } = await import('../src/prometheus-process.ts');
  t.false(hasPrometheusBinary('/nonexistent/prometheus'));
  await t.throwsAsync(startPrometheus({ targets, binary: '/nonexistent/prometheus' }), { instanceOf: PrometheusStartError, message: /cannot run \/nonexistent\/prometheus/ });
});
