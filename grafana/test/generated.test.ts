import test from 'ava';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { DASHBOARDS } from '../src/dashboards/index.ts';
import { DATASOURCES } from '../src/datasources.ts';
import { renderAll, staleFiles, writeAll, GRAFANA_DIR } from '../src/render.ts';
import { panelQueries } from '../src/queries.ts';

test('committed generated files equal a fresh render (run: npx tsx grafana/src/render.ts)', (t) => {
  t.deepEqual(staleFiles(), []);
});

test('staleFiles notices an edited file', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'cdn-grafana-render-'));
  writeAll(dir);
  t.deepEqual(staleFiles(dir), []);
  writeFileSync(path.join(dir, 'dashboards/logs.json'), '{}\n');
  t.deepEqual(staleFiles(dir), ['dashboards/logs.json']);
});

test('four dashboards with unique uids and titles, each file named after its builder', (t) => {
  const built = Object.entries(DASHBOARDS).map(([name, build]) => ({ name, dashboard: build().build() }));
  t.is(built.length, 4);
  t.is(new Set(built.map((b) => b.dashboard.uid)).size, built.length);
  t.is(new Set(built.map((b) => b.dashboard.title)).size, built.length);
  for (const { name, dashboard } of built) {
    const committed = JSON.parse(readFileSync(path.join(GRAFANA_DIR, 'dashboards', `${name}.json`), 'utf8')) as { uid: string };
    t.is(committed.uid, dashboard.uid ?? '(none)');
  }
});

test('provisioned datasources carry the uids the dashboards use', (t) => {
  const provisioned = parse(renderAll().get('provisioning/datasources/datasources.yml')!) as { datasources: { uid: string; type: string }[] };
  const uids = provisioned.datasources.map((ds) => ds.uid).sort();
  t.deepEqual(uids, [DATASOURCES.loki.uid, DATASOURCES.prometheus.uid].sort());
  const used = new Set(panelQueries().map((q) => DATASOURCES[q.datasource].uid));
  for (const uid of used) t.true(uids.includes(uid));
});

test('every panel has a title, a description and at least one query', (t) => {
  for (const build of Object.values(DASHBOARDS)) {
    const dashboard = build().build();
    for (const panel of dashboard.panels ?? []) {
      if (panel.type === 'row') continue;
      const p = panel as { title?: string; description?: string; targets?: unknown[] };
      t.truthy(p.title, `${dashboard.title}: panel without title`);
      t.truthy(p.description, `${dashboard.title} / ${p.title}: no description`);
      t.true((p.targets ?? []).length > 0, `${dashboard.title} / ${p.title}: no query`);
    }
  }
});

test('the edge detail dashboard has a node variable and filters every Prometheus query by it', (t) => {
  const dashboard = DASHBOARDS['edge-detail']!().build();
  const variables = (dashboard.templating?.list ?? []).map((v) => v.name);
  t.deepEqual(variables, ['node']);
  const queries = panelQueries().filter((q) => q.dashboard === dashboard.title);
  t.true(queries.length > 10);
  for (const q of queries) t.regex(q.expr, /\$node/, `${q.panel}: ${q.expr}`);
});

test('the logs dashboard queries Loki only, the others Prometheus only', (t) => {
  for (const q of panelQueries()) t.is(q.datasource, q.dashboard === 'CDN logs' ? 'loki' : 'prometheus', `${q.dashboard} / ${q.panel}`);
});
