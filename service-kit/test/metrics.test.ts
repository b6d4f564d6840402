import test from 'ava';
import { Registry } from 'prom-client';
import { codeClass, codeClassIndex, collectProcessMetrics } from '../src/metrics.ts';

test('status classes: 2xx to 5xx, anything else counts as 5xx', (t) => {
  t.deepEqual([200, 204, 304, 404, 499, 502].map(codeClass), ['2xx', '2xx', '3xx', '4xx', '4xx', '5xx']);
  t.is(codeClass(101), '5xx');
  t.is(codeClass(700), '5xx');
  t.is(codeClassIndex(404), 2);
});

test('process metrics come with the prefix and without the gauges promtool rejects', async (t) => {
  const registry = new Registry();
  collectProcessMetrics(registry, 'svc_');
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  t.true(names.includes('svc_process_cpu_user_seconds_total'));
  t.true(names.includes('svc_nodejs_active_handles'));
  t.false(names.some((name) => /nodejs_active_(handles|requests|resources)_total$/.test(name)));
});
