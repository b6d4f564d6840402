// Tiered caching (PARENT_URL) and fleet sharding (PEER_URLS/SELF_URL with consistent hashing).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { metricValue, request, startEdge, startUpstream, type TestEdge } from './helpers.ts';

test('tiered: a child edge fills from its parent edge, which fills from the origin', async (t) => {
  const origin = await startUpstream();
  const parent = await startEdge({ UPSTREAM_URLS: origin.url, EDGE_ID: 'parent' });
  const child = await startEdge({ PARENT_URL: parent.url, EDGE_ID: 'child' });
  const child2 = await startEdge({ PARENT_URL: parent.url, EDGE_ID: 'child2' });
  t.teardown(async () => {
    await child.close();
    await child2.close();
    await parent.close();
    await origin.close();
  });
  const first = await request(`${child.url}/obj/1`);
  t.is(first.body, 'body of /obj/1');
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored, cdn-lab; fwd=uri-miss; stored');
  t.is(first.headers.via, '1.1 parent, 1.1 child');
  const viaSibling = await request(`${child2.url}/obj/1`);
  t.regex(viaSibling.headers['cache-status'] as string, /^cdn-lab; hit; ttl=\d+, cdn-lab; fwd=uri-miss; stored$/);
  t.is(origin.count('/obj/1'), 1);
  t.is(await metricValue(child.edge, 'edge_upstream_requests_total', { upstream: 'parent' }), 1);
  t.is(await metricValue(child.edge, 'edge_upstream_requests_total', { upstream: 'origin' }), 0);
  t.is(await metricValue(parent.edge, 'edge_upstream_requests_total', { upstream: 'origin' }), 1);
});

/** Reserves n loopback ports (listen on 0, note, close) so each edge can know every peer's URL up front. */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<http.Server>((resolve) => {
      const server = http.createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

test('sharding: a miss goes to the key owner, which alone stores it; the hop header prevents loops', async (t) => {
  const origin = await startUpstream();
  const ports = await freePorts(3);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const peerList = urls.map((url, i) => `edge-${i}=${url}`).join(',');
  const edges: TestEdge[] = [];
  for (let i = 0; i < 3; i++) {
    edges.push(await startEdge({ UPSTREAM_URLS: origin.url, EDGE_ID: `edge-${i}`, PEER_URLS: peerList, SELF_URL: urls[i] as string, PORT: String(ports[i]) }));
  }
  t.teardown(async () => {
    for (const edge of edges) await edge.close();
    await origin.close();
  });
  t.deepEqual(edges.map((e) => e.url), urls);
  // Every object is asked at every edge: the origin still sees each once, and exactly one edge stores it.
  const paths = Array.from({ length: 12 }, (_, i) => `/obj/${i}`);
  for (const path of paths) {
    for (const edge of edges) {
      const answer = await request(`${edge.url}${path}`);
      t.is(answer.body, `body of ${path}`);
    }
  }
  for (const path of paths) t.is(origin.requests.filter((r) => r.url === path).length, 1, path);
  const stored = edges.map((e) => e.edge.store.count);
  t.is(stored.reduce((a, b) => a + b, 0), paths.length);
  t.true(stored.filter((n) => n > 0).length >= 2, `objects spread over edges: ${stored}`);
  const peerRequests = await Promise.all(edges.map((e) => metricValue(e.edge, 'edge_upstream_requests_total', { upstream: 'peer' })));
  t.is(peerRequests.reduce((a, b) => a + b, 0), paths.length * 2, 'each non-owner forwarded once per object');
  const originRequests = await Promise.all(edges.map((e) => metricValue(e.edge, 'edge_upstream_requests_total', { upstream: 'origin' })));
  t.is(originRequests.reduce((a, b) => a + b, 0), origin.requests.length);
  // Forwarded requests carried the hop header, and no owner forwarded again.
  t.true(origin.requests.every((r) => r.headers['x-cdn-lab-hop'] === undefined));
  // An unsafe method sent to any edge reaches the owner, which drops its copy (RFC 9111 §4.4).
  const owner = edges.findIndex((e) => e.edge.store.lookup('/obj/3', {}) !== undefined);
  const other = edges[(owner + 1) % 3] as TestEdge;
  const put = await request(`${other.url}/obj/3`, { method: 'PUT', body: 'new' });
  t.is(put.status, 200);
  t.is((edges[owner] as TestEdge).edge.store.lookup('/obj/3', {}), undefined);
});

test('sharding: when the owner is down, a non-owner falls back to its own upstream', async (t) => {
  const origin = await startUpstream();
  const ports = await freePorts(2);
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const env = (i: number) => ({ UPSTREAM_URLS: origin.url, EDGE_ID: `edge-${i}`, PEER_URLS: urls.join(','), SELF_URL: urls[i] as string, PORT: String(ports[i]) });
  const only = await startEdge(env(0));
  t.teardown(async () => {
    await only.close();
    await origin.close();
  });
  // Ask for objects until one is owned by the (never started) other edge.
  let answered = 0;
  for (let i = 0; i < 20; i++) {
    const answer = await request(`${only.url}/obj/${i}`);
    t.is(answer.status, 200);
    answered++;
  }
  t.is(answered, 20);
  t.true((await metricValue(only.edge, 'edge_upstream_requests_total', { upstream: 'peer', code: 'error' })) > 0);
  t.is(origin.requests.length, 20);
});
