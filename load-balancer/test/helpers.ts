// Tiny real backends on 127.0.0.1:0 that report who they are, a balancer on port 0, and a client.
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, listen, type Logger } from '@cdn-lab/service-kit';
import { createBalancer, type Balancer, type BalancerDeps } from '../src/app.ts';
import { configSchema, renderBackends, type LbConfigInput } from '../src/config.ts';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export type BackendHandler = (req: IncomingMessage, res: ServerResponse, backend: TestBackend) => void;

export interface TestBackend {
  id: string;
  url: string;
  port: number;
  /** Proxied requests seen (health checks excluded). */
  seen: SeenRequest[];
  close(): Promise<void>;
  /** Listens again on the same port (after close). */
  restart(): Promise<void>;
}

/** Default behaviour: `/healthz` answers ok; anything else answers JSON naming the backend. */
const reportId: BackendHandler = (req, res, backend) => {
  req.resume();
  req.on('end', () => {
    const body = JSON.stringify({ id: backend.id, method: req.method, url: req.url });
    res.writeHead(200, { 'content-type': 'application/json', 'x-backend': backend.id });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
};

export async function startBackend(id: string, handler: BackendHandler = reportId): Promise<TestBackend> {
  let server: http.Server;
  const backend: TestBackend = {
    id,
    url: '',
    port: 0,
    seen: [],
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    async restart() {
      await start(backend.port);
    },
  };
  const start = async (port: number) => {
    server = http.createServer((req, res) => {
      if (req.url === '/healthz') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok"}');
        return;
      }
      backend.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      handler(req, res, backend);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    backend.port = (server.address() as AddressInfo).port;
    backend.url = `http://127.0.0.1:${backend.port}`;
  };
  await start(0);
  return backend;
}

export async function startBackends(count: number, handler?: BackendHandler): Promise<TestBackend[]> {
  return Promise.all(Array.from({ length: count }, (_, i) => startBackend(`edge-${i}`, handler)));
}

/** Collects pino lines in memory. */
export function memoryLogger(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const logger = createLogger({ service: 'load-balancer', level: 'info', destination: { write: (chunk: string) => void chunks.push(chunk) } });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>) };
}

export interface RunningBalancer {
  balancer: Balancer;
  url: string;
}

/** A balancer on 127.0.0.1:0; health checks are driven by the test (`health.checkNow()`) unless asked. */
export async function startBalancer(
  backends: readonly TestBackend[],
  overrides: Partial<LbConfigInput> = {},
  deps: BalancerDeps = {},
): Promise<RunningBalancer> {
  const config = configSchema.parse({
    backends: renderBackends(backends.map(({ id, url }) => ({ id, url }))),
    healthIntervalMs: 60_000,
    healthTimeoutMs: 1000,
    ...overrides,
  });
  const balancer = createBalancer(config, {
    logger: memoryLogger().logger,
    startHealthChecks: false,
    processMetrics: false,
    ...deps,
  });
  const running = await listen(balancer.server, '127.0.0.1', 0);
  return { balancer, url: running.url };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** One request on a fresh connection. */
export function request(
  base: string,
  path: string,
  options: { method?: string; headers?: OutgoingHttpHeaders; body?: string | Buffer } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method: options.method ?? 'GET', headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Which backend served each of `paths`, requested one after another. */
export async function servedBy(base: string, paths: string[]): Promise<string[]> {
  const result: string[] = [];
  for (const path of paths) {
    const reply = await request(base, path);
    if (reply.status !== 200) throw new Error(`${path}: status ${reply.status} ${reply.body}`);
    result.push(String(reply.headers['x-served-by']));
  }
  return result;
}

export function countBy(values: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

/** Polls `condition` until true or `timeoutMs` passes; returns whether it became true. */
export async function eventually(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (condition()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return condition();
}
