// CDN overview: is the CDN doing its job? Traffic, cache effectiveness per edge and policy, origin
// offload, latency, errors, cache fill and evictions, and the balancer, on one page.
import { DashboardBuilder, DashboardCursorSync, DashboardLinkBuilder, DashboardLinkType, RowBuilder } from '@grafana/grafana-foundation-sdk/dashboard';
import { StackingConfigBuilder, StackingMode } from '@grafana/grafana-foundation-sdk/common';
import { CACHE_RESULTS, RECORDED } from '../rules.ts';
import { labelVariable, prom, ratioSeries, stat, timeseries } from './common.ts';

export const OVERVIEW_UID = 'cdn-overview';

/** Client-facing edges chosen by the dashboard's variables. */
const EDGES = 'tier!="shield",policy=~"$policy",edge=~"$edge"';
const SELECTED = 'policy=~"$policy",edge=~"$edge"';

export function overviewDashboard(): DashboardBuilder {
  return new DashboardBuilder('CDN overview')
    .uid(OVERVIEW_UID)
    .description('Traffic, cache effectiveness, origin offload, latency, errors and cache fill of every edge, per policy and for the fleet.')
    .tags(['cdn-lab', 'generated'])
    .tooltip(DashboardCursorSync.Crosshair)
    .time({ from: 'now-30m', to: 'now' })
    .refresh('10s')
    .timezone('browser')
    .link(new DashboardLinkBuilder('CDN lab').type(DashboardLinkType.Dashboards).tags(['cdn-lab']).asDropdown(true).includeVars(false).keepTime(true))
    .withVariable(labelVariable({ name: 'policy', label: 'Policy', query: 'label_values(edge_requests_total, policy)', allValue: '.*' }))
    .withVariable(labelVariable({ name: 'edge', label: 'Edge', query: 'label_values(edge_requests_total{policy=~"$policy"}, edge)', allValue: '.*' }))

    .withRow(new RowBuilder('Fleet'))
    .withPanel(
      stat('Requests/s', 'Client requests per second answered by the client-facing edges (shield excluded).', 'reqps').withTarget(
        prom(`sum(rate(edge_requests_total{${EDGES}}[$__rate_interval]))`),
      ),
    )
    .withPanel(
      stat('Hit ratio', `Share of client requests answered from cache (${CACHE_RESULTS}), fleet-wide over the last minute.`, 'percentunit').withTarget(
        prom(RECORDED.fleetHitRatio),
      ),
    )
    .withPanel(
      stat('Byte hit ratio', 'Share of bytes sent to clients that came from cache: what the CDN saves in origin bandwidth.', 'percentunit').withTarget(
        prom(RECORDED.fleetByteHitRatio),
      ),
    )
    .withPanel(
      stat('Origin offload', '1 - origin requests / client requests: the share of client requests that never reached an origin.', 'percentunit').withTarget(
        prom(RECORDED.fleetOriginOffload),
      ),
    )
    .withPanel(
      stat('p99 latency', 'Fleet p99 of client request latency over the last minute.', 's').withTarget(prom(`${RECORDED.fleetLatency}{quantile="0.99"}`)),
    )
    .withPanel(
      stat('Edges up', 'Edges Prometheus can scrape / edges it should scrape.', 'none').withTarget(
        prom('sum(up{job="edge"}) / count(up{job="edge"})'),
      ).unit('percentunit'),
    )

    .withRow(new RowBuilder('Traffic'))
    .withPanel(
      timeseries('Requests/s per edge', 'Client requests per second by edge: an uneven split comes from the balancer algorithm.', 'reqps').withTarget(
        prom(`sum by (edge, policy) (rate(edge_requests_total{${SELECTED}}[$__rate_interval]))`, '{{edge}} ({{policy}})'),
      ),
    )
    .withPanel(
      timeseries('Requests/s by result', 'hit: fresh from cache; miss: fetched upstream; stale/revalidated: served from cache after a conditional request or under stale-*; bypass: not cacheable; error: rejected or failed.', 'reqps')
        .stacking(new StackingConfigBuilder().mode(StackingMode.Normal))
        .withTarget(prom(`sum by (result) (rate(edge_requests_total{${EDGES}}[$__rate_interval]))`, '{{result}}')),
    )

    .withRow(new RowBuilder('Cache effectiveness'))
    .withPanel(
      ratioSeries('Hit ratio per edge', 'Share of each edge\'s requests answered from cache, last minute (recorded rule).').withTarget(
        prom(`${RECORDED.edgeHitRatio}{${SELECTED}}`, '{{edge}} ({{policy}}, {{tier}})'),
      ),
    )
    .withPanel(
      ratioSeries('Hit ratio per policy', 'Hit ratio of the client-facing edges grouped by eviction policy.').withTarget(
        prom(`${RECORDED.policyHitRatio}{policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      ratioSeries('Byte hit ratio per edge', 'Share of bytes served from cache: a policy that keeps many small objects can have a high hit ratio and a low byte hit ratio.').withTarget(
        prom(`${RECORDED.edgeByteHitRatio}{${SELECTED}}`, '{{edge}} ({{policy}}, {{tier}})'),
      ),
    )
    .withPanel(
      ratioSeries('Byte hit ratio per policy', 'Byte hit ratio of the client-facing edges grouped by policy.').withTarget(
        prom(`${RECORDED.policyByteHitRatio}{policy=~"$policy"}`, '{{policy}}'),
      ),
    )
    .withPanel(
      ratioSeries('Origin offload', 'Requests and bytes the origins did not have to serve. Shield and peer answers count as offloaded.', { w: 24 })
        .withTarget(prom(RECORDED.fleetOriginOffload, 'requests (fleet)', 'A'))
        .withTarget(prom(RECORDED.fleetOriginByteOffload, 'bytes (fleet)', 'B'))
        .withTarget(prom(`${RECORDED.policyOriginOffload}{policy=~"$policy"}`, 'requests ({{policy}})', 'C')),
    )

    .withRow(new RowBuilder('Latency'))
    .withPanel(
      timeseries('Client latency p50 / p95 / p99', 'Quantiles of client request latency over the selected edges, from the edge_request_duration_seconds histogram.', 's')
        .withTarget(prom(`histogram_quantile(0.5, sum by (le) (rate(edge_request_duration_seconds_bucket{${EDGES}}[$__rate_interval])))`, 'p50', 'A'))
        .withTarget(prom(`histogram_quantile(0.95, sum by (le) (rate(edge_request_duration_seconds_bucket{${EDGES}}[$__rate_interval])))`, 'p95', 'B'))
        .withTarget(prom(`histogram_quantile(0.99, sum by (le) (rate(edge_request_duration_seconds_bucket{${EDGES}}[$__rate_interval])))`, 'p99', 'C')),
    )
    .withPanel(
      timeseries('p99 latency per edge', 'An edge whose p99 stands out is slow itself (CPU, big objects) or misses more.', 's').withTarget(
        prom(`${RECORDED.edgeLatency}{quantile="0.99",${SELECTED}}`, '{{edge}} ({{policy}})'),
      ),
    )
    .withPanel(
      timeseries('Origin latency p50 / p99', 'Catalogue response time at each origin, including injected latency: the floor under every miss.', 's', { w: 24 }).withTarget(
        prom(`${RECORDED.originLatency}{quantile=~"0.5|0.99"}`, '{{origin}} p{{quantile}}'),
      ),
    )

    .withRow(new RowBuilder('Errors'))
    .withPanel(
      timeseries('Edge error responses/s', '4xx and 5xx answers to clients, by edge and status class.', 'reqps').withTarget(
        prom(`sum by (edge, code) (rate(edge_requests_total{code=~"4xx|5xx",${SELECTED}}[$__rate_interval]))`, '{{edge}} {{code}}'),
      ),
    )
    .withPanel(
      ratioSeries('Origin 5xx ratio', 'Share of catalogue responses that are 5xx, per origin (alert OriginHigh5xxRate above 5%).').withTarget(
        prom(RECORDED.origin5xxRatio, '{{origin}}'),
      ),
    )
    .withPanel(
      timeseries('Upstream failures/s', 'Upstream exchanges that failed: 5xx answers, or error when no answer came back (refused, reset, timeout).', 'reqps').withTarget(
        prom(`sum by (edge, upstream, code) (rate(edge_upstream_requests_total{code=~"5xx|error",${SELECTED}}[$__rate_interval]))`, '{{edge}} → {{upstream}} {{code}}'),
      ),
    )
    .withPanel(
      timeseries('Balancer backend errors/s', 'Failures the balancer saw per backend and reason (connect, reset, timeout, aborted, health_check).', 'reqps').withTarget(
        prom('sum by (backend, reason) (rate(lb_backend_errors_total[$__rate_interval]))', '{{backend}} {{reason}}'),
      ),
    )

    .withRow(new RowBuilder('Cache fill and evictions'))
    .withPanel(
      ratioSeries('Cache fill', 'Bytes held / byte budget per edge. A full cache with a high eviction rate is too small for the working set.', { w: 8 }).withTarget(
        prom(`edge_cache_bytes{${SELECTED}} / edge_cache_capacity_bytes{${SELECTED}}`, '{{edge}} ({{policy}})'),
      ),
    )
    .withPanel(
      timeseries('Cached objects', 'Entries held per edge.', 'short', { w: 8 }).withTarget(prom(`edge_cache_objects{${SELECTED}}`, '{{edge}} ({{policy}})')),
    )
    .withPanel(
      timeseries('Evictions/s', 'Entries leaving each cache per second, by reason: evict (policy choice to make room), expire, replace, delete (purge).', 'ops', { w: 8 }).withTarget(
        prom(`sum by (edge, reason) (rate(edge_cache_evictions_total{${SELECTED}}[$__rate_interval]))`, '{{edge}} {{reason}}'),
      ),
    )

    .withRow(new RowBuilder('Balancer'))
    .withPanel(
      timeseries('Balancer requests/s per backend', 'How the balancer spreads requests over the edges (algorithm in the legend).', 'reqps').withTarget(
        prom(`${RECORDED.lbBackendRequests}{backend!="none"}`, '{{backend}} ({{algorithm}})'),
      ),
    )
    .withPanel(
      timeseries('Backends in rotation', '1 when the balancer\'s health checks keep the edge in rotation, 0 when it is taken out.', 'short').min(0).max(1).withTarget(
        prom('lb_backend_up', '{{backend}}'),
      ),
    );
}
