// In-process test rig: a tiny scripted upstream on 127.0.0.1:0 that counts its requests, and an
// edge on port 0 with an injectable clock and captured log lines.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { Histogram, type Registry } from 'prom-client';
import { createLogger, listen } from '@cdn-lab/service-kit';
import { createEdge, type Edge, type EdgeDeps } from '../src/app.ts';
import { edgeConfigFromEnv } from '../src/config.ts';

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: Buffer) => void;

export interface RecordedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

export interface TestUpstream {
  url: string;
  server: http.Server;
  requests: RecordedRequest[];
  /** Requests whose path starts with `prefix`. */
  count(prefix?: string): number;
  close(): Promise<void>;
}

/** A settable clock shared by a test's edge and upstream, so Date headers and Age agree. */
export interface TestClock {
  now(): number;
  advance(ms: number): void;
}

export function testClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance(ms) {
      offset += ms;
    },
  };
}

/**
 * Starts an upstream answering with `handler` (default: 200, `max-age=60`, body naming the path).
 * With a clock, its Date header follows that clock (as a real origin's would follow real time).
 */
export async function startUpstream(handler: Handler = defaultHandler, clock?: TestClock): Promise<TestUpstream> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    if (clock) res.setHeader('date', new Date(clock.now()).toUTCString());
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({ method: req.method as string, url: req.url as string, headers: req.headers });
      handler(req, res, Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    requests,
    count: (prefix = '') => requests.filter((r) => r.url.startsWith(prefix)).length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const defaultHandler: Handler = (req, res) => {
  const body = `body of ${req.url}`;
  res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(body) });
  res.end(body);
};

export interface TestEdge {
  edge: Edge;
  url: string;
  port: number;
  logs: Record<string, unknown>[];
  /** Moves the edge's clock forward. */
  advance(ms: number): void;
  close(): Promise<void>;
}

/** Starts an edge from env-style settings (as main.ts would read them) on 127.0.0.1:0. */
export async function startEdge(env: Record<string, string>, clock: TestClock = testClock(), deps: Pick<EdgeDeps, 'collectGarbage'> = {}): Promise<TestEdge> {
  const config = edgeConfigFromEnv({ LOG_LEVEL: 'info', ...env });
  const logs: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ service: 'edge-node', level: 'info', destination });
  const edge = createEdge(config, { logger, now: clock.now, defaultMetrics: false, ...deps });
  const running = await listen(edge.server, '127.0.0.1', config.port);
  return {
    edge,
    url: running.url,
    port: running.port,
    logs,
    advance: clock.advance,
    close: () => edge.close(),
  };
}

/** A GET (or other method) with a fresh connection each time; returns status, headers and body text. */
export async function request(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode as number, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const HISTOGRAM_SERIES = ['_count', '_sum', '_bucket'] as const;

/**
 * Sums the samples of one series from the edge's registry over the samples whose labels match.
 * A histogram is read through one of its series (`<name>_count`, `<name>_sum`, `<name>_bucket`);
 * its bare name, an unknown metric or a label the metric does not have throws, so a test can never
 * compare 0 with a series that was not read at all.
 */
export async function metricValue(edge: { metrics: { registry: Registry } }, name: string, labels: Record<string, string> = {}): Promise<number> {
  const registry = edge.metrics.registry;
  let metric = registry.getSingleMetric(name);
  if (metric === undefined) {
    const suffix = HISTOGRAM_SERIES.find((s) => name.endsWith(s));
    metric = suffix === undefined ? undefined : registry.getSingleMetric(name.slice(0, -suffix.length));
    if (!(metric instanceof Histogram)) throw new Error(`no metric ${name}`);
  } else if (metric instanceof Histogram) {
    throw new Error(`${name} is a histogram: read ${name}_count, ${name}_sum or ${name}_bucket`);
  }
  const labelNames = new Set(['le', ...(metric as unknown as { labelNames: string[] }).labelNames]);
  for (const label of Object.keys(labels)) {
    if (!labelNames.has(label)) throw new Error(`${name} has no label "${label}"`);
  }
  let total = 0;
  for (const sample of (await metric.get()).values) {
    if (((sample as { metricName?: string }).metricName ?? name) !== name) continue;
    if (Object.entries(labels).every(([k, v]) => String((sample.labels as Record<string, unknown>)[k]) === v)) total += sample.value;
  }
  return total;
}

/**
 * The ttl of a `cdn-lab; hit; ttl=N` Cache-Status, checked to lie in [max - slack, max]: the slack
 * absorbs Date's one-second resolution and real time spent on a loaded machine, nothing else.
 */
export function hitTtlWithin(cacheStatus: string | string[] | undefined, max: number, slack = 5): boolean {
  const match = /^cdn-lab; hit; ttl=(-?\d+)$/.exec(String(cacheStatus));
  if (!match) return false;
  const ttl = Number(match[1]);
  return ttl <= max && ttl >= max - slack;
}
