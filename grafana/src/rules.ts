// Prometheus recording and alerting rules for the lab, as data. `render.ts` writes them to
// grafana/prometheus/rules/*.yml; dashboards read the recorded series by the names exported here,
// so a rename happens in one place.
//
// Naming follows Prometheus' level:metric:operations convention. Levels: `edge` (one edge node:
// labels edge, policy, tier), `policy` (client-facing edges of one policy), `fleet` (all
// client-facing edges), `origin`, `lb`, `lb_backend`. A shield edge (tier="shield") serves other
// edges, not clients, so it is left out of policy and fleet figures.
import { SERVED_FROM_CACHE_MATCHER } from '@cdn-lab/service-kit';

/** Results served from the cache (service-kit's SERVED_FROM_CACHE), as a label matcher. */
export const CACHE_RESULTS = SERVED_FROM_CACHE_MATCHER;
/** Edges that answer clients (not the shield tier). */
const CLIENT_EDGES = 'tier!="shield"';
/** Catalogue routes of the origin (not /healthz, /metrics, admin). */
export const CATALOGUE_ROUTES = 'obj|short|nostore';
export const QUANTILES = ['0.5', '0.95', '0.99'] as const;

export const RECORDED = {
  edgeRequests: 'edge:requests:rate1m',
  edgeRequestsByResult: 'edge_result:requests:rate1m',
  edgeHitRatio: 'edge:hit_ratio:rate1m',
  policyHitRatio: 'policy:hit_ratio:rate1m',
  fleetHitRatio: 'fleet:hit_ratio:rate1m',
  edgeByteHitRatio: 'edge:byte_hit_ratio:rate1m',
  policyByteHitRatio: 'policy:byte_hit_ratio:rate1m',
  fleetByteHitRatio: 'fleet:byte_hit_ratio:rate1m',
  fleetRequests: 'fleet:requests:rate1m',
  policyOriginOffload: 'policy:origin_offload:rate1m',
  fleetOriginOffload: 'fleet:origin_offload:rate1m',
  fleetOriginByteOffload: 'fleet:origin_byte_offload:rate1m',
  edgeLatency: 'edge:request_duration_seconds:quantile_rate1m',
  policyLatency: 'policy:request_duration_seconds:quantile_rate1m',
  fleetLatency: 'fleet:request_duration_seconds:quantile_rate1m',
  originRequests: 'origin:requests:rate1m',
  origin5xxRatio: 'origin:http_5xx_ratio:rate1m',
  originLatency: 'origin:request_duration_seconds:quantile_rate1m',
  lbBackendRequests: 'lb_backend:requests:rate1m',
  lbLatency: 'lb:request_duration_seconds:quantile_rate1m',
  lbImbalance: 'lb:backend_imbalance:rate1m',
} as const;

/** Alert thresholds, in one place (the runbooks quote them). */
export const THRESHOLDS = {
  /** An edge answering fewer than this share of requests from cache, for 5 minutes. */
  edgeHitRatioFloor: 0.5,
  /** Fleet hit ratio below this fraction of its own level over the previous hour. */
  fleetHitRatioDropFactor: 0.75,
  /** Minimum traffic (requests/s) before hit ratios mean anything. */
  minRequestsPerSecond: 1,
  /** Share of an origin's catalogue responses that are 5xx. */
  origin5xxRatio: 0.05,
  /** Edge p99 latency, seconds. */
  edgeP99Seconds: 0.25,
} as const;

export interface RecordingRule {
  record: string;
  expr: string;
  labels?: Record<string, string>;
}

export interface AlertingRule {
  alert: string;
  expr: string;
  for: string;
  labels: { severity: 'warning' | 'critical' };
  annotations: { summary: string; description: string; runbook: string };
}

export interface RuleGroup<R> {
  name: string;
  rules: R[];
}

const rate = (selector: string) => `rate(${selector}[1m])`;
const sumBy = (by: string, inner: string) => (by ? `sum by (${by}) (${inner})` : `sum(${inner})`);

function ratio(by: string, numerator: string, denominator: string): string {
  return `${sumBy(by, rate(numerator))}\n/\n${sumBy(by, rate(denominator))}`;
}

function quantileRules(record: string, by: string, bucketSelector: string): RecordingRule[] {
  const byLe = by ? `${by}, le` : 'le';
  return QUANTILES.map((quantile) => ({
    record,
    expr: `histogram_quantile(${quantile}, ${sumBy(byLe, rate(bucketSelector))})`,
    labels: { quantile },
  }));
}

const EDGE = 'edge, policy, tier';

export const RECORDING_GROUPS: RuleGroup<RecordingRule>[] = [
  {
    name: 'cdn-edge',
    rules: [
      { record: RECORDED.edgeRequests, expr: sumBy(EDGE, rate('edge_requests_total')) },
      { record: RECORDED.edgeRequestsByResult, expr: sumBy(`${EDGE}, result`, rate('edge_requests_total')) },
      { record: RECORDED.fleetRequests, expr: sumBy('', rate(`edge_requests_total{${CLIENT_EDGES}}`)) },
      { record: RECORDED.edgeHitRatio, expr: ratio(EDGE, `edge_requests_total{result=~"${CACHE_RESULTS}"}`, 'edge_requests_total') },
      {
        record: RECORDED.policyHitRatio,
        expr: ratio('policy', `edge_requests_total{${CLIENT_EDGES},result=~"${CACHE_RESULTS}"}`, `edge_requests_total{${CLIENT_EDGES}}`),
      },
      {
        record: RECORDED.fleetHitRatio,
        expr: ratio('', `edge_requests_total{${CLIENT_EDGES},result=~"${CACHE_RESULTS}"}`, `edge_requests_total{${CLIENT_EDGES}}`),
      },
      {
        record: RECORDED.edgeByteHitRatio,
        expr: ratio(EDGE, `edge_response_bytes_total{result=~"${CACHE_RESULTS}"}`, 'edge_response_bytes_total'),
      },
      {
        record: RECORDED.policyByteHitRatio,
        expr: ratio('policy', `edge_response_bytes_total{${CLIENT_EDGES},result=~"${CACHE_RESULTS}"}`, `edge_response_bytes_total{${CLIENT_EDGES}}`),
      },
      {
        record: RECORDED.fleetByteHitRatio,
        expr: ratio('', `edge_response_bytes_total{${CLIENT_EDGES},result=~"${CACHE_RESULTS}"}`, `edge_response_bytes_total{${CLIENT_EDGES}}`),
      },
      // Offload: the share of client requests (or bytes) that never reached an origin. Requests a
      // shield or a peer answered count as offloaded; only upstream="origin" exchanges do not.
      {
        record: RECORDED.policyOriginOffload,
        expr: `1 - (\n${ratio('policy', 'edge_upstream_requests_total{upstream="origin"}', `edge_requests_total{${CLIENT_EDGES}}`)}\n)`,
      },
      {
        record: RECORDED.fleetOriginOffload,
        expr: `1 - (\n${ratio('', 'edge_upstream_requests_total{upstream="origin"}', `edge_requests_total{${CLIENT_EDGES}}`)}\n)`,
      },
      {
        record: RECORDED.fleetOriginByteOffload,
        expr: `1 - (\n${ratio('', 'edge_upstream_bytes_total{upstream="origin"}', `edge_response_bytes_total{${CLIENT_EDGES}}`)}\n)`,
      },
      ...quantileRules(RECORDED.edgeLatency, EDGE, 'edge_request_duration_seconds_bucket'),
      ...quantileRules(RECORDED.policyLatency, 'policy', `edge_request_duration_seconds_bucket{${CLIENT_EDGES}}`),
      ...quantileRules(RECORDED.fleetLatency, '', `edge_request_duration_seconds_bucket{${CLIENT_EDGES}}`),
    ],
  },
  {
    name: 'cdn-origin',
    rules: [
      { record: RECORDED.originRequests, expr: sumBy('origin', rate(`origin_http_requests_total{route=~"${CATALOGUE_ROUTES}"}`)) },
      {
        record: RECORDED.origin5xxRatio,
        expr: ratio('origin', `origin_http_requests_total{route=~"${CATALOGUE_ROUTES}",code="5xx"}`, `origin_http_requests_total{route=~"${CATALOGUE_ROUTES}"}`),
      },
      ...quantileRules(RECORDED.originLatency, 'origin', `origin_http_request_duration_seconds_bucket{route=~"${CATALOGUE_ROUTES}"}`),
    ],
  },
  {
    name: 'cdn-balancer',
    rules: [
      { record: RECORDED.lbBackendRequests, expr: sumBy('lb, algorithm, backend', rate('lb_requests_total')) },
      ...quantileRules(RECORDED.lbLatency, 'lb, algorithm', 'lb_request_duration_seconds_bucket'),
      // Peak-to-mean request rate across backends: 1 is perfectly even, 2 means the busiest edge
      // takes twice its fair share. "none" (requests no backend took) is not a backend.
      {
        record: RECORDED.lbImbalance,
        expr: `max by (lb, algorithm) (${sumBy('lb, algorithm, backend', rate('lb_requests_total{backend!="none"}'))})\n/\navg by (lb, algorithm) (${sumBy('lb, algorithm, backend', rate('lb_requests_total{backend!="none"}'))})`,
      },
    ],
  },
];

const pct = (x: number) => `${Math.round(x * 100)}%`;

export const ALERT_GROUPS: RuleGroup<AlertingRule>[] = [
  {
    name: 'cdn-alerts',
    rules: [
      {
        alert: 'EdgeHitRatioLow',
        expr: `${RECORDED.edgeHitRatio}{${CLIENT_EDGES}} < ${THRESHOLDS.edgeHitRatioFloor}\nand on (edge, policy, tier)\n${RECORDED.edgeRequests} > ${THRESHOLDS.minRequestsPerSecond}`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Edge {{ $labels.edge }} answers few requests from cache',
          description: `Hit ratio of {{ $labels.edge }} (policy {{ $labels.policy }}) is {{ $value | humanizePercentage }}, below ${pct(THRESHOLDS.edgeHitRatioFloor)} for 5 minutes.`,
          runbook: [
            'Open the "CDN edge detail" dashboard for this edge.',
            '1. Cache fill: if edge_cache_bytes is at edge_cache_capacity_bytes and evictions are high, the cache is too small for the working set; raise edges.cacheBytes or try another policy (compare with `cdn-lab compare`).',
            '2. Results: many "bypass" answers mean the traffic is not cacheable (no-store); many "miss" with a low eviction rate mean a cold cache (just restarted) or a one-hit-wonder or scan workload.',
            '3. If only this edge is low, check the balancer: a consistent-hash ring change after a backend flapped moves keys to cold edges.',
          ].join('\n'),
        },
      },
      {
        alert: 'FleetHitRatioDrop',
        expr: `${RECORDED.fleetHitRatio} < ${THRESHOLDS.fleetHitRatioDropFactor} * avg_over_time(${RECORDED.fleetHitRatio}[1h] offset 10m)\nand\n${RECORDED.fleetRequests} > ${THRESHOLDS.minRequestsPerSecond}`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Fleet hit ratio dropped',
          description: `The fleet hit ratio is {{ $value | humanizePercentage }}, under ${pct(THRESHOLDS.fleetHitRatioDropFactor)} of its average over the hour before.`,
          runbook: [
            'A sudden fleet-wide drop is usually a change, not a slow drift.',
            '1. Did the workload change (a hot-set shift, a scan)? The "CDN overview" requests-by-result panel shows misses rising on every edge at once.',
            '2. Were edges restarted or purged (cache bytes falling to zero on "CDN edge detail")?',
            '3. Did the topology change (policy, cache size, tiering)? Compare the policy label before and after on the "Load-test comparison" dashboard.',
            '4. Watch origin load: the origin offload panel shows how much more the origins now serve.',
          ].join('\n'),
        },
      },
      {
        alert: 'OriginHigh5xxRate',
        expr: `${RECORDED.origin5xxRatio} > ${THRESHOLDS.origin5xxRatio}`,
        for: '2m',
        labels: { severity: 'critical' },
        annotations: {
          summary: 'Origin {{ $labels.origin }} answers with 5xx',
          description: `{{ $value | humanizePercentage }} of catalogue responses from {{ $labels.origin }} are 5xx (threshold ${pct(THRESHOLDS.origin5xxRatio)}) for 2 minutes.`,
          runbook: [
            '1. Injected faults? origin_faults_injected_total{kind="error"} or {kind="down"} rising means ERROR_RATE or PUT /_admin/faults is in effect: clear it with DELETE /_admin/faults sent to the origin itself (Authorization: Bearer ADMIN_TOKEN).',
            '2. Otherwise read the origin\'s error lines on the "CDN logs" dashboard (service="origin", level="error").',
            '3. Edges shield clients from origin errors only for cached objects: check edge 5xx on "CDN overview" and whether stale-if-error answers (result="stale") rose.',
          ].join('\n'),
        },
      },
      {
        alert: 'EdgeHighP99Latency',
        expr: `${RECORDED.edgeLatency}{quantile="0.99"} > ${THRESHOLDS.edgeP99Seconds}`,
        for: '5m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Edge {{ $labels.edge }} p99 latency is high',
          description: `p99 request latency of {{ $labels.edge }} is {{ $value | humanizeDuration }} (threshold ${THRESHOLDS.edgeP99Seconds}s) for 5 minutes.`,
          runbook: [
            '1. On "CDN edge detail", split latency by result: slow misses point upstream (edge_upstream_duration_seconds, origin latency faults), slow hits point at the edge itself (CPU, event-loop lag, huge objects).',
            '2. A falling hit ratio raises p99 by itself: more requests wait for the origin.',
            '3. Check coalescing: many waiters on one slow key show as edge_coalesced_requests_total rising.',
            '4. Check the balancer: lb_backend_in_flight piling up on one edge means an uneven split (see the imbalance panel).',
          ].join('\n'),
        },
      },
      {
        alert: 'EdgeDown',
        expr: 'up{job="edge"} == 0',
        for: '1m',
        labels: { severity: 'critical' },
        annotations: {
          summary: 'Edge {{ $labels.instance }} is down',
          description: 'Prometheus has not been able to scrape {{ $labels.instance }} for a minute.',
          runbook: [
            '1. Is the process or container running? Local lab: the lab prints each service\'s exit; Docker: `docker ps -a` and `docker logs <container>`.',
            '2. Read its last log lines on the "CDN logs" dashboard (edge="<id>"): a config error names the bad environment variable and exits with code 2.',
            '3. The balancer takes a dead edge out of rotation (lb_backend_up=0); with consistent hashing its keys move to the other edges, so expect their hit ratio to dip.',
          ].join('\n'),
        },
      },
      {
        alert: 'EdgeOutOfRotation',
        expr: 'lb_backend_up == 0',
        for: '1m',
        labels: { severity: 'warning' },
        annotations: {
          summary: 'Balancer {{ $labels.lb }} took {{ $labels.backend }} out of rotation',
          description: 'Health checks of {{ $labels.backend }} have failed for a minute.',
          runbook: [
            '1. If EdgeDown fires for the same edge, follow its runbook.',
            '2. Otherwise the edge is up but failing /healthz or timing out: see lb_backend_errors_total by reason on "CDN overview".',
          ].join('\n'),
        },
      },
    ],
  },
];
