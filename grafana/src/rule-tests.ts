// `promtool test rules` cases for the rules in rules.ts, rendered to grafana/prometheus/tests/.
// The series, evaluation times and expected labels and values are written out by hand below; only
// the expected annotations are filled in from each rule's templates (promtool compares them
// verbatim, and copying runbooks by hand would let them drift). A template that Prometheus expands
// differently from `expandTemplate` makes the test fail, which is a check of its own.
import { stringify } from 'yaml';
import { ALERT_GROUPS, THRESHOLDS } from './rules.ts';

interface ExpectedAlert {
  labels: Record<string, string>;
  /** `$value` as the rule's template renders it (e.g. "25%"). */
  value?: string;
}

interface AlertCase {
  evalTime: string;
  alertname: string;
  alerts: ExpectedAlert[];
}

interface PromqlCase {
  expr: string;
  evalTime: string;
  samples: { labels: string; value: number }[];
}

interface RuleTest {
  name: string;
  interval: string;
  series: { series: string; values: string }[];
  alerts?: AlertCase[];
  promql?: PromqlCase[];
}

const EDGE0 = 'edge="edge-0",policy="lru",tier="edge"';
const EDGE1 = 'edge="edge-1",policy="lru",tier="edge"';
const SHIELD = 'edge="shield-0",policy="lru",tier="shield"';

/** Per 15 s step: edge-0 3 hits/s + 1 miss/s (75%), edge-1 1 hit/s + 3 misses/s (25%), shield 50%. */
const TRAFFIC = [
  { series: `edge_requests_total{${EDGE0},result="hit",code="2xx"}`, values: '0+45x60' },
  { series: `edge_requests_total{${EDGE0},result="miss",code="2xx"}`, values: '0+15x60' },
  { series: `edge_requests_total{${EDGE1},result="hit",code="2xx"}`, values: '0+15x60' },
  { series: `edge_requests_total{${EDGE1},result="miss",code="2xx"}`, values: '0+45x60' },
  { series: `edge_requests_total{${SHIELD},result="hit",code="2xx"}`, values: '0+30x60' },
  { series: `edge_requests_total{${SHIELD},result="miss",code="2xx"}`, values: '0+30x60' },
  { series: `edge_response_bytes_total{${EDGE0},result="hit"}`, values: '0+4500x60' },
  { series: `edge_response_bytes_total{${EDGE0},result="miss"}`, values: '0+4500x60' },
  { series: `edge_response_bytes_total{${EDGE1},result="hit"}`, values: '0+1500x60' },
  { series: `edge_response_bytes_total{${EDGE1},result="miss"}`, values: '0+13500x60' },
  // Edges ask the shield; only the shield's misses (2/s) reach the origin.
  { series: `edge_upstream_requests_total{${EDGE0},upstream="parent",code="2xx"}`, values: '0+15x60' },
  { series: `edge_upstream_requests_total{${EDGE1},upstream="parent",code="2xx"}`, values: '0+45x60' },
  { series: `edge_upstream_requests_total{${SHIELD},upstream="origin",code="2xx"}`, values: '0+30x60' },
  { series: `edge_upstream_bytes_total{${SHIELD},upstream="origin"}`, values: '0+6000x60' },
  // edge-0: half its requests under 10 ms, all under 100 ms.
  { series: `edge_request_duration_seconds_bucket{${EDGE0},result="hit",le="0.01"}`, values: '0+30x60' },
  { series: `edge_request_duration_seconds_bucket{${EDGE0},result="hit",le="0.1"}`, values: '0+60x60' },
  { series: `edge_request_duration_seconds_bucket{${EDGE0},result="hit",le="+Inf"}`, values: '0+60x60' },
];

export const RULE_TESTS: RuleTest[] = [
  {
    name: 'recording rules: hit ratios, offload, latency, origin errors',
    interval: '15s',
    series: [
      ...TRAFFIC,
      { series: 'origin_http_requests_total{origin="origin-0",route="obj",code="2xx"}', values: '0+27x60' },
      { series: 'origin_http_requests_total{origin="origin-0",route="obj",code="5xx"}', values: '0+3x60' },
      { series: 'origin_http_requests_total{origin="origin-0",route="healthz",code="2xx"}', values: '0+100x60' },
      { series: 'lb_requests_total{lb="lb-0",algorithm="consistent-hash",backend="edge-0",code="2xx"}', values: '0+45x60' },
      { series: 'lb_requests_total{lb="lb-0",algorithm="consistent-hash",backend="edge-1",code="2xx"}', values: '0+15x60' },
      { series: 'lb_requests_total{lb="lb-0",algorithm="consistent-hash",backend="none",code="5xx"}', values: '0+0x60' },
    ],
    promql: [
      {
        expr: 'edge:hit_ratio:rate1m',
        evalTime: '5m',
        samples: [
          { labels: `edge:hit_ratio:rate1m{${EDGE0}}`, value: 0.75 },
          { labels: `edge:hit_ratio:rate1m{${EDGE1}}`, value: 0.25 },
          { labels: `edge:hit_ratio:rate1m{${SHIELD}}`, value: 0.5 },
        ],
      },
      // The shield serves edges, not clients: (3 + 1) / (4 + 4).
      { expr: 'fleet:hit_ratio:rate1m', evalTime: '5m', samples: [{ labels: 'fleet:hit_ratio:rate1m', value: 0.5 }] },
      { expr: 'policy:hit_ratio:rate1m', evalTime: '5m', samples: [{ labels: 'policy:hit_ratio:rate1m{policy="lru"}', value: 0.5 }] },
      // (300 + 100) / (600 + 1000) bytes/s from cache.
      { expr: 'fleet:byte_hit_ratio:rate1m', evalTime: '5m', samples: [{ labels: 'fleet:byte_hit_ratio:rate1m', value: 0.25 }] },
      // 2 origin requests/s for 8 client requests/s.
      { expr: 'fleet:origin_offload:rate1m', evalTime: '5m', samples: [{ labels: 'fleet:origin_offload:rate1m', value: 0.75 }] },
      // 400 origin bytes/s for 1600 client bytes/s.
      { expr: 'fleet:origin_byte_offload:rate1m', evalTime: '5m', samples: [{ labels: 'fleet:origin_byte_offload:rate1m', value: 0.75 }] },
      {
        expr: 'edge:request_duration_seconds:quantile_rate1m{quantile="0.5"}',
        evalTime: '5m',
        samples: [{ labels: `edge:request_duration_seconds:quantile_rate1m{${EDGE0},quantile="0.5"}`, value: 0.01 }],
      },
      // Health checks are not catalogue traffic: 3 of 30 catalogue responses are 5xx.
      { expr: 'origin:http_5xx_ratio:rate1m', evalTime: '5m', samples: [{ labels: 'origin:http_5xx_ratio:rate1m{origin="origin-0"}', value: 0.1 }] },
      // 3 and 1 requests/s: the busiest backend takes 1.5 times the mean ("none" is not a backend).
      {
        expr: 'lb:backend_imbalance:rate1m',
        evalTime: '5m',
        samples: [{ labels: 'lb:backend_imbalance:rate1m{lb="lb-0",algorithm="consistent-hash"}', value: 1.5 }],
      },
    ],
  },
  {
    name: 'EdgeHitRatioLow fires for the low edge after 5 minutes, not for the healthy one',
    interval: '15s',
    series: TRAFFIC,
    alerts: [
      // Pending, not firing yet.
      { evalTime: '4m', alertname: 'EdgeHitRatioLow', alerts: [] },
      { evalTime: '10m', alertname: 'EdgeHitRatioLow', alerts: [{ labels: { severity: 'warning', ...labelsOf(EDGE1) }, value: '25%' }] },
    ],
  },
  {
    name: 'EdgeHitRatioLow stays quiet without traffic',
    interval: '15s',
    series: [
      { series: `edge_requests_total{${EDGE1},result="hit",code="2xx"}`, values: '0+1x60' },
      { series: `edge_requests_total{${EDGE1},result="miss",code="2xx"}`, values: '0+3x60' },
    ],
    alerts: [{ evalTime: '10m', alertname: 'EdgeHitRatioLow', alerts: [] }],
  },
  {
    name: 'FleetHitRatioDrop fires when the fleet hit ratio falls from 90% to 20%',
    interval: '15s',
    series: [
      // 18 hits + 2 misses per 15 s for 70 minutes, then 4 + 16.
      { series: `edge_requests_total{${EDGE0},result="hit",code="2xx"}`, values: '0+18x280 5044+4x120' },
      { series: `edge_requests_total{${EDGE0},result="miss",code="2xx"}`, values: '0+2x280 576+16x120' },
    ],
    alerts: [
      { evalTime: '65m', alertname: 'FleetHitRatioDrop', alerts: [] },
      { evalTime: '80m', alertname: 'FleetHitRatioDrop', alerts: [{ labels: { severity: 'warning' }, value: '20%' }] },
    ],
  },
  {
    name: 'OriginHigh5xxRate fires for the failing origin only',
    interval: '15s',
    series: [
      { series: 'origin_http_requests_total{origin="origin-0",route="obj",code="2xx"}', values: '0+27x40' },
      { series: 'origin_http_requests_total{origin="origin-0",route="obj",code="5xx"}', values: '0+3x40' },
      { series: 'origin_http_requests_total{origin="origin-1",route="obj",code="2xx"}', values: '0+30x40' },
      { series: 'origin_http_requests_total{origin="origin-1",route="obj",code="5xx"}', values: '0+0x40' },
    ],
    alerts: [
      { evalTime: '1m', alertname: 'OriginHigh5xxRate', alerts: [] },
      { evalTime: '5m', alertname: 'OriginHigh5xxRate', alerts: [{ labels: { severity: 'critical', origin: 'origin-0' }, value: '10%' }] },
    ],
  },
  {
    name: `EdgeHighP99Latency fires when p99 exceeds ${THRESHOLDS.edgeP99Seconds}s`,
    interval: '15s',
    series: [
      // edge-0: every request under 10 ms. edge-1: all between 0.5 s and 1 s.
      { series: `edge_request_duration_seconds_bucket{${EDGE0},result="hit",le="0.01"}`, values: '0+30x40' },
      { series: `edge_request_duration_seconds_bucket{${EDGE0},result="hit",le="+Inf"}`, values: '0+30x40' },
      { series: `edge_request_duration_seconds_bucket{${EDGE1},result="miss",le="0.5"}`, values: '0+0x40' },
      { series: `edge_request_duration_seconds_bucket{${EDGE1},result="miss",le="1"}`, values: '0+30x40' },
      { series: `edge_request_duration_seconds_bucket{${EDGE1},result="miss",le="+Inf"}`, values: '0+30x40' },
    ],
    alerts: [
      { evalTime: '3m', alertname: 'EdgeHighP99Latency', alerts: [] },
      { evalTime: '8m', alertname: 'EdgeHighP99Latency', alerts: [{ labels: { severity: 'warning', quantile: '0.99', ...labelsOf(EDGE1) }, value: '995ms' }] },
    ],
  },
  {
    name: 'EdgeDown fires for an edge that stopped answering scrapes',
    interval: '15s',
    series: [
      { series: 'up{job="edge",instance="edge-0",edge="edge-0"}', values: '1x40' },
      { series: 'up{job="edge",instance="edge-1",edge="edge-1"}', values: '1x8 0x32' },
      { series: 'up{job="origin",instance="origin-0",origin="origin-0"}', values: '0x40' },
    ],
    alerts: [
      { evalTime: '2m30s', alertname: 'EdgeDown', alerts: [] },
      { evalTime: '5m', alertname: 'EdgeDown', alerts: [{ labels: { severity: 'critical', job: 'edge', instance: 'edge-1', edge: 'edge-1' }, value: '0' }] },
    ],
  },
  {
    name: 'EdgeOutOfRotation fires when the balancer drops a backend',
    interval: '15s',
    series: [
      { series: 'lb_backend_up{lb="lb-0",algorithm="round-robin",backend="edge-0"}', values: '1x40' },
      { series: 'lb_backend_up{lb="lb-0",algorithm="round-robin",backend="edge-1"}', values: '1x4 0x36' },
    ],
    alerts: [
      { evalTime: '1m', alertname: 'EdgeOutOfRotation', alerts: [] },
      { evalTime: '5m', alertname: 'EdgeOutOfRotation', alerts: [{ labels: { severity: 'warning', lb: 'lb-0', algorithm: 'round-robin', backend: 'edge-1' } }] },
    ],
  },
];

function labelsOf(matchers: string): Record<string, string> {
  return Object.fromEntries([...matchers.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!, m[2]!]));
}

/** Expands the subset of Go template syntax the rules use: `{{ $labels.x }}` and `{{ $value | fn }}`. */
export function expandTemplate(template: string, labels: Record<string, string>, value: string | undefined): string {
  return template.replace(/\{\{\s*\$(labels\.(\w+)|value)(\s*\|\s*\w+)?\s*\}\}/g, (_match, _what: string, label: string | undefined) => {
    if (label !== undefined) return labels[label] ?? '';
    if (value === undefined) throw new Error(`template ${JSON.stringify(template)} uses $value but the test case gives none`);
    return value;
  });
}

function alertRule(name: string) {
  const rule = ALERT_GROUPS.flatMap((group) => group.rules).find((r) => r.alert === name);
  if (!rule) throw new Error(`no alert rule named ${name}`);
  return rule;
}

/** The promtool unit-test file (paths relative to grafana/prometheus/tests/). */
export function renderRuleTests(): string {
  const file = {
    rule_files: ['../rules/recording.yml', '../rules/alerts.yml'],
    evaluation_interval: '15s',
    tests: RULE_TESTS.map((t) => ({
      name: t.name,
      interval: t.interval,
      input_series: t.series,
      ...(t.alerts
        ? {
            alert_rule_test: t.alerts.map((c) => ({
              eval_time: c.evalTime,
              alertname: c.alertname,
              exp_alerts: c.alerts.map((a) => {
                const rule = alertRule(c.alertname);
                return {
                  exp_labels: a.labels,
                  exp_annotations: Object.fromEntries(
                    Object.entries(rule.annotations).map(([key, template]) => [key, expandTemplate(template, a.labels, a.value)]),
                  ),
                };
              }),
            })),
          }
        : {}),
      ...(t.promql
        ? { promql_expr_test: t.promql.map((p) => ({ expr: p.expr, eval_time: p.evalTime, exp_samples: p.samples })) }
        : {}),
    })),
  };
  return `# Rendered from grafana/src/rule-tests.ts by grafana/src/render.ts; run: promtool test rules grafana/prometheus/tests/rules.test.yml\n${stringify(file, { lineWidth: 0 })}`;
}
