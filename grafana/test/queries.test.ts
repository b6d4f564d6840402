import test from 'ava';
import { panelQueries, substituteVariables } from '../src/queries.ts';
import { logqlSyntaxErrors, promqlSyntaxErrors } from '../src/query-syntax.ts';

const queries = panelQueries();

test('there are PromQL and LogQL queries to check', (t) => {
  t.true(queries.filter((q) => q.datasource === 'prometheus').length >= 40);
  t.true(queries.filter((q) => q.datasource === 'loki').length >= 6);
});

test('every PromQL panel query parses (lezer-promql, no error nodes)', (t) => {
  for (const q of queries.filter((q) => q.datasource === 'prometheus')) {
    const expr = substituteVariables(q.expr, 'prometheus', { values: { node: 'edge-0' } });
    t.deepEqual(promqlSyntaxErrors(expr), [], `${q.dashboard} / ${q.panel} / ${q.refId}: ${expr}`);
  }
});

test('every LogQL panel query parses (lezer-logql, no error nodes)', (t) => {
  for (const q of queries.filter((q) => q.datasource === 'loki')) {
    const expr = substituteVariables(q.expr, 'loki', { values: { search: 'miss' } });
    t.deepEqual(logqlSyntaxErrors(expr), [], `${q.dashboard} / ${q.panel} / ${q.refId}: ${expr}`);
  }
});

test('the syntax checks catch broken queries', (t) => {
  t.not(promqlSyntaxErrors('sum(rate(edge_requests_total[1m])').length, 0);
  t.not(logqlSyntaxErrors('{service="edge"} | status >= ').length, 0);
});

test('no query is left with an unsubstituted variable', (t) => {
  for (const q of queries) {
    const expr = substituteVariables(q.expr, q.datasource, { values: { node: 'edge-0', search: 'x' } });
    t.false(expr.includes('$'), `${q.panel}: ${expr}`);
  }
});

test('substituteVariables follows Grafana: intervals, range, All values', (t) => {
  t.is(substituteVariables('rate(x{a=~"$policy"}[$__rate_interval])', 'prometheus', { interval: '30s' }), 'rate(x{a=~".*"}[30s])');
  t.is(substituteVariables('{service=~"$service"} [$__range]', 'loki', { range: '1h' }), '{service=~".+"} [1h]');
  t.is(substituteVariables('x{edge="$node"}', 'prometheus', { values: { node: 'edge-2' } }), 'x{edge="edge-2"}');
});
