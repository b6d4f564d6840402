import test from 'ava';
import { EdgeMetrics } from '../src/metrics.ts';

/** The one sample of `name` (a family name, or a histogram's `_count`/`_sum`) with these labels. */
async function sample(metrics: EdgeMetrics, name: string, labels: Record<string, string>): Promise<number> {
  const family = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name.replace(/_(count|sum)$/, ''));
  const matches = (family?.values ?? []).filter(
    (v) => ((v as { metricName?: string }).metricName ?? family?.name) === name && Object.entries(labels).every(([k, l]) => v.labels[k] === l),
  );
  if (matches.length !== 1) throw new Error(`${matches.length} samples of ${name} ${JSON.stringify(labels)}`);
  return (matches[0] as { value: number }).value;
}

test('per-request counters folded in at scrape time count each request once, across scrapes', async (t) => {
  const metrics = new EdgeMetrics({ edgeId: 'e', policy: 'lru', cache: { bytes: 0, count: 0, capacityBytes: 1 }, defaultMetrics: false });
  metrics.request('hit', 200, 0.001, 100);
  metrics.request('hit', 200, 0.001, 50);
  metrics.request('miss', 404, 0.01, 7);
  t.is(await sample(metrics, 'edge_requests_total', { result: 'hit', code: '2xx' }), 2);
  t.is(await sample(metrics, 'edge_requests_total', { result: 'miss', code: '4xx' }), 1);
  t.is(await sample(metrics, 'edge_response_bytes_total', { result: 'hit' }), 150);
  // A second scrape with nothing new reports the same totals (nothing added twice, nothing lost).
  t.is(await sample(metrics, 'edge_requests_total', { result: 'hit', code: '2xx' }), 2);
  t.is(await sample(metrics, 'edge_response_bytes_total', { result: 'hit' }), 150);
  metrics.request('hit', 503, 0.001, 0);
  t.is(await sample(metrics, 'edge_requests_total', { result: 'hit', code: '2xx' }), 2);
  t.is(await sample(metrics, 'edge_requests_total', { result: 'hit', code: '5xx' }), 1);
  t.is(await sample(metrics, 'edge_request_duration_seconds_count', { result: 'hit' }), 3);
  // Every combination exists before its first event, and the text exposition agrees with the JSON.
  t.is(await sample(metrics, 'edge_requests_total', { result: 'collapsed', code: '3xx' }), 0);
  const text = await metrics.registry.metrics();
  t.regex(text, /edge_requests_total\{result="hit",code="2xx",edge="e",policy="lru"\} 2\n/);
  t.regex(text, /edge_response_bytes_total\{result="miss",edge="e",policy="lru"\} 7\n/);
});
