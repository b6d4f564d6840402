import test from 'ava';
import { cacheFigures, servedCounts } from '../src/measure.ts';
import { parseMetrics, sumMetric } from '../src/scrape.ts';

const edge = (hit: number, miss: number, hitBytes: number, missBytes: number, upstream: number) =>
  parseMetrics(`# HELP edge_requests_total Requests.
# TYPE edge_requests_total counter
edge_requests_total{result="hit",code="2xx",edge="e"} ${hit}
edge_requests_total{result="miss",code="2xx",edge="e"} ${miss}
# HELP edge_response_bytes_total Bytes.
# TYPE edge_response_bytes_total counter
edge_response_bytes_total{result="hit"} ${hitBytes}
edge_response_bytes_total{result="miss"} ${missBytes}
# HELP edge_upstream_requests_total Upstream.
# TYPE edge_upstream_requests_total counter
edge_upstream_requests_total{upstream="origin",code="2xx"} ${upstream}
# HELP edge_request_duration_seconds Latency.
# TYPE edge_request_duration_seconds histogram
edge_request_duration_seconds_bucket{result="hit",le="0.1"} 1
edge_request_duration_seconds_bucket{result="hit",le="+Inf"} 1
edge_request_duration_seconds_sum{result="hit"} 0.01
edge_request_duration_seconds_count{result="hit"} 1
`);
const origin = (n: number) =>
  parseMetrics(`# HELP origin_http_requests_total Requests.
# TYPE origin_http_requests_total counter
origin_http_requests_total{route="obj",code="2xx"} ${n}
origin_http_requests_total{route="healthz",code="2xx"} 99
`);

test('parseMetrics keeps counters with their labels and leaves histograms out', (t) => {
  const scrape = edge(3, 1, 300, 100, 1);
  t.is(sumMetric(scrape, 'edge_requests_total'), 4);
  t.is(sumMetric(scrape, 'edge_requests_total', { result: 'hit' }), 3);
  t.false(scrape.has('edge_request_duration_seconds'));
  t.is(sumMetric(scrape, 'edge_upstream_requests_total', { upstream: 'origin' }), 1);
});

test('cacheFigures computes ratios from deltas and checks the origin count', (t) => {
  const before = { edges: [edge(0, 0, 0, 0, 0), edge(10, 10, 100, 100, 10)], innerEdges: [], origins: [origin(10)] };
  const after = { edges: [edge(30, 10, 3000, 1000, 10), edge(40, 20, 400, 200, 20)], innerEdges: [], origins: [origin(30)] };
  const figures = cacheFigures(before, after, ['edge-0', 'edge-1']);
  t.is(figures.edgeRequests, 40 + 40);
  t.is(figures.hitRatio, 60 / 80);
  t.is(figures.byteHitRatio, 3300 / 4400);
  t.is(figures.originRequests, 20);
  t.is(figures.edgeToOriginRequests, 20);
  t.true(figures.countsAgree);
  t.is(figures.originOffload, 1 - 20 / 80);
  t.deepEqual(figures.perEdge.map((e) => e.requests), [40, 40]);
  const wrong = cacheFigures(before, { ...after, origins: [origin(31)] }, ['edge-0', 'edge-1']);
  t.false(wrong.countsAgree);
});

test('with fleet sharding a forwarded request counts once, with the owner\'s outcome', (t) => {
  // Two client requests: one to edge-0 that owns the key (hit), one to edge-1 that forwards it to
  // edge-0 (edge-1 counts a miss with upstream="peer", edge-0 counts a hit).
  const owner = parseMetrics(`# TYPE edge_requests_total counter
edge_requests_total{result="hit",code="2xx"} 2
# TYPE edge_response_bytes_total counter
edge_response_bytes_total{result="hit"} 200
`);
  const forwarder = parseMetrics(`# TYPE edge_requests_total counter
edge_requests_total{result="miss",code="2xx"} 1
# TYPE edge_response_bytes_total counter
edge_response_bytes_total{result="miss"} 100
# TYPE edge_upstream_requests_total counter
edge_upstream_requests_total{upstream="peer",code="2xx"} 1
# TYPE edge_upstream_bytes_total counter
edge_upstream_bytes_total{upstream="peer"} 100
`);
  const counts = servedCounts([owner, forwarder]);
  t.deepEqual(counts, { requests: 2, hits: 2, bytes: 200, hitBytes: 200 });
});
