// Edge detail: one edge node (the `node` variable) in depth, from what clients got down to what it
// asked upstream, what its cache holds, and what the process costs.
import { DashboardBuilder, DashboardCursorSync, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { RECORDED } from '../rules.ts';
import { labelVariable, prom, ratioSeries, stat, timeseries } from './common.ts';

export const EDGE_DETAIL_UID = 'cdn-edge-detail';

const NODE = 'edge="$node"';

export function edgeDetailDashboard(): DashboardBuilder {
  return new DashboardBuilder('CDN edge detail')
    .uid(EDGE_DETAIL_UID)
    .description('One edge node: results, latency by result, upstream traffic, cache contents, evictions and process health.')
    .tags(['cdn-lab', 'generated'])
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-30m', to: 'now' })
    .refresh('10s')
    .timezone('browser')
    .withVariable(labelVariable({ name: 'node', label: 'Edge node', query: 'label_values(edge_requests_total, edge)' }))

    .withRow(new RowBuilder('Now'))
    .withPanel(stat('Requests/s', 'Client requests per second, last minute.', 'reqps').withTarget(prom(`${RECORDED.edgeRequests}{${NODE}}`)))
    .withPanel(stat('Hit ratio', 'Requests answered from cache, last minute.', 'percentunit').withTarget(prom(`${RECORDED.edgeHitRatio}{${NODE}}`)))
    .withPanel(
      stat('Byte hit ratio', 'Bytes served from cache, last minute.', 'percentunit').withTarget(prom(`${RECORDED.edgeByteHitRatio}{${NODE}}`)),
    )
    .withPanel(stat('p99 latency', 'p99 client latency, last minute.', 's').withTarget(prom(`${RECORDED.edgeLatency}{quantile="0.99",${NODE}}`)))
    .withPanel(
      stat('Cache fill', 'Bytes held / byte budget.', 'percentunit').withTarget(prom(`edge_cache_bytes{${NODE}} / edge_cache_capacity_bytes{${NODE}}`)),
    )
    .withPanel(stat('Up', '1 when Prometheus scrapes this edge.', 'none').withTarget(prom('up{job="edge",instance="$node"}')))

    .withRow(new RowBuilder('Client traffic'))
    .withPanel(
      timeseries('Requests/s by result', 'How each client request was answered (hit, miss, stale, revalidated, bypass, error).', 'reqps').withTarget(
        prom(`${RECORDED.edgeRequestsByResult}{${NODE}}`, '{{result}}'),
      ),
    )
    .withPanel(
      timeseries('Requests/s by status class', 'Client responses by status class.', 'reqps').withTarget(
        prom(`sum by (code) (rate(edge_requests_total{${NODE}}[$__rate_interval]))`, '{{code}}'),
      ),
    )
    .withPanel(
      timeseries('Latency p50 / p95 / p99', 'Client latency quantiles of this edge, last minute (recorded rules).', 's').withTarget(
        prom(`${RECORDED.edgeLatency}{${NODE}}`, 'p{{quantile}}'),
      ),
    )
    .withPanel(
      timeseries('p99 latency by result', 'Hits should take microseconds; misses take at least the upstream\'s time. Slow hits point at the edge itself.', 's').withTarget(
        prom(`histogram_quantile(0.99, sum by (result, le) (rate(edge_request_duration_seconds_bucket{${NODE}}[$__rate_interval])))`, '{{result}}'),
      ),
    )
    .withPanel(
      timeseries('Bytes/s to clients by result', 'Response body bytes per second, split by how they were served.', 'Bps', { w: 24 }).withTarget(
        prom(`sum by (result) (rate(edge_response_bytes_total{${NODE}}[$__rate_interval]))`, '{{result}}'),
      ),
    )

    .withRow(new RowBuilder('Upstream'))
    .withPanel(
      timeseries('Upstream requests/s', 'Requests this edge sent to an origin, its parent (shield) or a peer, by status class (error: no answer).', 'reqps', { w: 8 }).withTarget(
        prom(`sum by (upstream, code) (rate(edge_upstream_requests_total{${NODE}}[$__rate_interval]))`, '{{upstream}} {{code}}'),
      ),
    )
    .withPanel(
      timeseries('Upstream p99 latency', 'Time of a whole upstream exchange (request to full body), by upstream kind.', 's', { w: 8 }).withTarget(
        prom(`histogram_quantile(0.99, sum by (upstream, le) (rate(edge_upstream_duration_seconds_bucket{${NODE}}[$__rate_interval])))`, '{{upstream}}'),
      ),
    )
    .withPanel(
      timeseries('Upstream bytes/s', 'Body bytes received from upstream: cache fill traffic.', 'Bps', { w: 8 }).withTarget(
        prom(`sum by (upstream) (rate(edge_upstream_bytes_total{${NODE}}[$__rate_interval]))`, '{{upstream}}'),
      ),
    )
    .withPanel(
      timeseries('Coalesced requests/s', 'Client requests that waited for another request\'s upstream fetch of the same key instead of making their own.', 'reqps', { w: 24 }).withTarget(
        prom(`sum(rate(edge_coalesced_requests_total{${NODE}}[$__rate_interval]))`, 'coalesced'),
      ),
    )

    .withRow(new RowBuilder('Cache'))
    .withPanel(
      timeseries('Cache bytes', 'Bytes held against the byte budget.', 'bytes', { w: 8 })
        .withTarget(prom(`edge_cache_bytes{${NODE}}`, 'held', 'A'))
        .withTarget(prom(`edge_cache_capacity_bytes{${NODE}}`, 'capacity', 'B')),
    )
    .withPanel(timeseries('Cached objects', 'Entries held.', 'short', { w: 8 }).withTarget(prom(`edge_cache_objects{${NODE}}`, 'objects')))
    .withPanel(
      timeseries('Evictions/s by reason', 'evict: the policy made room; expire: TTL ran out; replace: a newer copy was stored; delete: purged.', 'ops', { w: 8 }).withTarget(
        prom(`sum by (reason) (rate(edge_cache_evictions_total{${NODE}}[$__rate_interval]))`, '{{reason}}'),
      ),
    )

    .withRow(new RowBuilder('Balancer view and process'))
    .withPanel(
      timeseries('Balancer → this edge', 'Requests/s the balancer sent to this edge by status class, and requests in flight.', 'reqps', { w: 8 })
        .withTarget(prom('sum by (code) (rate(lb_requests_total{backend="$node"}[$__rate_interval]))', '{{code}}', 'A'))
        .withTarget(prom('sum(lb_backend_in_flight{backend="$node"})', 'in flight', 'B')),
    )
    .withPanel(
      ratioSeries('CPU', 'CPU seconds per second used by the edge process (1 = one core).', { w: 8 }).max(2).withTarget(
        prom(`rate(edge_process_cpu_seconds_total{${NODE}}[$__rate_interval])`, 'cpu'),
      ),
    )
    .withPanel(
      timeseries('Memory and event-loop lag', 'Resident memory and the p99 event-loop delay: a lagging loop delays every request, hits included.', 'bytes', { w: 8 })
        .withTarget(prom(`edge_process_resident_memory_bytes{${NODE}}`, 'resident memory', 'A'))
        .withTarget(prom(`edge_nodejs_eventloop_lag_p99_seconds{${NODE}}`, 'event-loop lag p99', 'B'))
        .overrideByName('event-loop lag p99', [{ id: 'unit', value: 's' }, { id: 'custom.axisPlacement', value: 'right' }]),
    );
}
