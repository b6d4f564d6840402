import test from 'ava';
import path from 'node:path';
import { ALERT_GROUPS, RECORDING_GROUPS } from '../src/rules.ts';
import { GRAFANA_DIR, RULE_FILES, RULE_TESTS_FILE } from '../src/render.ts';
import { RULE_TESTS, expandTemplate } from '../src/rule-tests.ts';
import { promqlSyntaxErrors } from '../src/query-syntax.ts';
import { promtool, promtoolTest } from './helpers/promtool.ts';

const ptest = promtoolTest('rules.test.ts');
const alerts = ALERT_GROUPS.flatMap((group) => group.rules);
const recordings = RECORDING_GROUPS.flatMap((group) => group.rules);

ptest('promtool check rules accepts the committed rule files', (t) => {
  for (const file of Object.values(RULE_FILES)) {
    const result = promtool(['check', 'rules', path.join(GRAFANA_DIR, file)]);
    t.is(result.status, 0, `${file}: ${result.output}`);
    t.regex(result.output, /SUCCESS: [1-9]\d* rules found/);
  }
});

ptest('promtool test rules: every unit test passes', (t) => {
  const result = promtool(['test', 'rules', path.join(GRAFANA_DIR, RULE_TESTS_FILE)]);
  t.is(result.status, 0, result.output);
  t.regex(result.output, /SUCCESS/);
});

test('every alert has a test where it fires and one where it does not', (t) => {
  for (const rule of alerts) {
    const cases = RULE_TESTS.flatMap((ruleTest) => ruleTest.alerts ?? []).filter((c) => c.alertname === rule.alert);
    t.true(cases.some((c) => c.alerts.length > 0), `${rule.alert} never fires in the tests`);
    t.true(cases.some((c) => c.alerts.length === 0), `${rule.alert} is never checked quiet`);
  }
});

test('every recording group has a unit test of at least one of its series', (t) => {
  const tested = new Set(RULE_TESTS.flatMap((ruleTest) => (ruleTest.promql ?? []).map((p) => p.expr.replace(/\{.*$/, ''))));
  for (const group of RECORDING_GROUPS) {
    t.true(group.rules.some((rule) => tested.has(rule.record)), `no promql_expr_test for group ${group.name}`);
  }
});

test('every alert has a severity, a summary, a description and a runbook with steps', (t) => {
  t.true(alerts.length >= 4);
  for (const rule of alerts) {
    t.regex(rule.labels.severity, /^(warning|critical)$/);
    t.true(rule.annotations.summary.length > 10, rule.alert);
    t.true(rule.annotations.description.length > 10, rule.alert);
    t.regex(rule.annotations.runbook, /^1\. |\n1\. /, `${rule.alert} runbook has no numbered steps`);
  }
});

test('alert names cover hit ratio drop, origin 5xx, edge p99 and edge down', (t) => {
  const names = alerts.map((rule) => rule.alert);
  for (const name of ['FleetHitRatioDrop', 'EdgeHitRatioLow', 'OriginHigh5xxRate', 'EdgeHighP99Latency', 'EdgeDown']) t.true(names.includes(name), name);
});

test('every rule expression parses as PromQL', (t) => {
  for (const rule of [...recordings, ...alerts]) {
    const name = 'record' in rule ? rule.record : rule.alert;
    t.deepEqual(promqlSyntaxErrors(rule.expr), [], name);
  }
});

test('recorded series follow level:metric:operations and are recorded once per label set', (t) => {
  const seen = new Set<string>();
  for (const rule of recordings) {
    t.regex(rule.record, /^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    const key = `${rule.record}${JSON.stringify(rule.labels ?? {})}`;
    t.false(seen.has(key), key);
    seen.add(key);
  }
});

test('expandTemplate fills labels and $value, and refuses $value without one', (t) => {
  t.is(expandTemplate('{{ $labels.edge }} at {{ $value | humanizePercentage }}', { edge: 'edge-1' }, '25%'), 'edge-1 at 25%');
  t.throws(() => expandTemplate('{{ $value }}', {}, undefined), { message: /uses \$value/ });
});
