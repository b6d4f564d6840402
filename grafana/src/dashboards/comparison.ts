// Load-test comparison: strategies side by side over a run. A comparison runs its variants (cache
// policies, balancer algorithms) one after another; their series carry the policy and algorithm
// labels, so grouping by them lines the variants up, and the tables sum each over the whole range.
import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { CACHE_RESULTS, RECORDED } from '../rules.ts';
import { labelVariable, prom, promTable, ratioSeries, table, timeseries } from './common.ts';

export const COMPARISON_UID = 'cdn-loadtest-comparison';

const EDGES = 'tier!="shield",policy=~"$policy"';
const BACKENDS = 'backend!="none",algorithm=~"$algorithm"';
const runIncrease = (selector: string) => `increase(${selector}[$__range])`;

/** Merges instant queries (one per column) into one row per group. */
const MERGE = { id: 'merge', options: {} };
const hideTime = (renames: Record<string, string>) => ({
  id: 'organize',
  options: { excludeByName: { Time: true }, renameByName: renames },
});

export function comparisonDashboard(): DashboardBuilder {
  return new DashboardBuilder('Load-test comparison')
    .uid(COMPARISON_UID)
    .description('Cache policies and balancer algorithms side by side over a load-test run: set the time range to the run.')
    .tags(['cdn-lab', 'generated'])
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-30m', to: 'now' })
    .refresh('10s')
    .timezone('browser')
    .withVariable(labelVariable({ name: 'policy', label: 'Policy', query: 'label_values(edge_requests_total, policy)', allValue: '.*' }))
    .withVariable(labelVariable({ name: 'algorithm', label: 'Algorithm', query: 'label_values(lb_requests_total, algorithm)', allValue: '.*' }))

    .withRow(new RowBuilder('Cache policies over the run'))
    .withPanel(
      table('Policies: run summary', 'Each policy over the whole time range: requests, hit ratio, byte hit ratio, origin offload and p99 latency of the client-facing edges.', { w: 24, h: 7 })
        .withTarget(promTable(`sum by (policy) (${runIncrease(`edge_requests_total{${EDGES}}`)})`, 'requests'))
        .withTarget(
          promTable(
            `sum by (policy) (${runIncrease(`edge_requests_total{${EDGES},result=~"${CACHE_RESULTS}"}`)})\n/\nsum by (policy) (${runIncrease(`edge_requests_total{${EDGES}}`)})`,
            'hit_ratio',
          ),
        )
        .withTarget(
          promTable(
            `sum by (policy) (${runIncrease(`edge_response_bytes_total{${EDGES},result=~"${CACHE_RESULTS}"}`)})\n/\nsum by (policy) (${runIncrease(`edge_response_bytes_total{${EDGES}}`)})`,
            'byte_hit_ratio',
          ),
        )
        .withTarget(
          promTable(
            `1 - (\nsum by (policy) (${runIncrease('edge_upstream_requests_total{upstream="origin",policy=~"$policy"}')})\n/\nsum by (policy) (${runIncrease(`edge_requests_total{${EDGES}}`)})\n)`,
            'origin_offload',
          ),
        )
        .withTarget(promTable(`histogram_quantile(0.99, sum by (policy, le) (${runIncrease(`edge_request_duration_seconds_bucket{${EDGES}}`)}))`, 'p99'))
        .withTransformation(MERGE)
        .withTransformation(
          hideTime({
            'Value #requests': 'Requests',
            'Value #hit_ratio': 'Hit ratio',
            'Value #byte_hit_ratio': 'Byte hit ratio',
            'Value #origin_offload': 'Origin offload',
            'Value #p99': 'p99 latency',
          }),
        )
        .overrideByName('Hit ratio', [{ id: 'unit', value: 'percentunit' }])
        .overrideByName('Byte hit ratio', [{ id: 'unit', value: 'percentunit' }])
        .overrideByName('Origin offload', [{ id: 'unit', value: 'percentunit' }])
        .overrideByName('p99 latency', [{ id: 'unit', value: 's' }])
        .overrideByName('Requests', [{ id: 'unit', value: 'short' }]),
    )
    .withPanel(
      ratioSeries('Hit ratio by policy', 'Client-facing edges grouped by policy, last-minute windows.').withTarget(
        prom(`${RECORDED.policyHitRatio}{policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      ratioSeries('Byte hit ratio by policy', 'Bytes served from cache, grouped by policy.').withTarget(
        prom(`${RECORDED.policyByteHitRatio}{policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      ratioSeries('Origin offload by policy', 'Share of client requests that never reached an origin.').withTarget(
        prom(`${RECORDED.policyOriginOffload}{policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      timeseries('p99 latency by policy', 'Client p99 latency grouped by policy.', 's').withTarget(
        prom(`${RECORDED.policyLatency}{quantile="0.99",policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      timeseries('Requests/s by policy', 'Offered load per variant: compare like with like.', 'reqps').withTarget(
        prom(`sum by (policy) (${RECORDED.edgeRequests}{${EDGES}})`, '{{policy}}'),
      ),
    )
    .withPanel(
      timeseries('Evictions/s by policy', 'Policy-driven evictions per second: churn of each policy under the same workload.', 'ops').withTarget(
        prom(`sum by (policy) (rate(edge_cache_evictions_total{reason="evict",policy=~"$policy"}[$__rate_interval]))`, '{{policy}}'),
      ),
    )

    .withRow(new RowBuilder('Balancer algorithms over the run'))
    .withPanel(
      table('Algorithms: run summary', 'Each balancer algorithm over the whole range: requests, p99 latency, and peak-to-mean load across backends (1 = perfectly even).', { w: 24, h: 6 })
        .withTarget(promTable(`sum by (algorithm) (${runIncrease(`lb_requests_total{${BACKENDS}}`)})`, 'requests'))
        .withTarget(
          promTable(`histogram_quantile(0.99, sum by (algorithm, le) (${runIncrease(`lb_request_duration_seconds_bucket{${BACKENDS}}`)}))`, 'p99'),
        )
        .withTarget(
          promTable(
            `max by (algorithm) (sum by (algorithm, backend) (${runIncrease(`lb_requests_total{${BACKENDS}}`)}))\n/\navg by (algorithm) (sum by (algorithm, backend) (${runIncrease(`lb_requests_total{${BACKENDS}}`)}))`,
            'imbalance',
          ),
        )
        .withTransformation(MERGE)
        .withTransformation(hideTime({ 'Value #requests': 'Requests', 'Value #p99': 'p99 latency', 'Value #imbalance': 'Peak-to-mean load' }))
        .overrideByName('p99 latency', [{ id: 'unit', value: 's' }])
        .overrideByName('Requests', [{ id: 'unit', value: 'short' }]),
    )
    .withPanel(
      timeseries('Balancer p99 latency by algorithm', 'p99 of proxied requests, per algorithm.', 's', { w: 8 }).withTarget(
        prom(`${RECORDED.lbLatency}{quantile="0.99",algorithm=~"$algorithm"}`, '{{algorithm}}'),
      ),
    )
    .withPanel(
      timeseries('Backend load imbalance', 'Busiest backend\'s request rate / mean backend rate. Consistent hashing trades evenness for cache locality.', 'none', { w: 8 }).withTarget(
        prom(`${RECORDED.lbImbalance}{algorithm=~"$algorithm"}`, '{{algorithm}}'),
      ),
    )
    .withPanel(
      timeseries('Requests/s per backend', 'Per-edge request rate under each algorithm.', 'reqps', { w: 8 }).withTarget(
        prom(`${RECORDED.lbBackendRequests}{${BACKENDS}}`, '{{algorithm}} → {{backend}}'),
      ),
    )
    .withPanel(
      timeseries('Origin requests/s', 'Catalogue requests reaching each origin: what the whole CDN costs the origin under each variant.', 'reqps', { w: 24 }).withTarget(
        prom(RECORDED.originRequests, '{{origin}}'),
      ),
    );
}
