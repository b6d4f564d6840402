// Listening, readiness and graceful shutdown, the same for origin, edge and balancer.
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { AddressInfo, ListenOptions as NetListenOptions } from 'node:net';
import type { Logger } from './logger.ts';

/** Message a service sends to its parent (the local lab) over the IPC channel once it listens. */
export interface ReadyMessage {
  type: 'ready';
  service: string;
  host: string;
  port: number;
  /** Port of the service's separate metrics listener, when it has one. */
  metricsPort?: number;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/**
 * Whether this Node can give several processes their own listening socket on one port
 * (SO_REUSEPORT, `reusePort` from Node 22.12 and 23.1, on Linux and FreeBSD), so the kernel spreads
 * connections over them.
 */
export function reusePortAvailable(version = process.versions.node, platform = process.platform): boolean {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  const node = major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
  return node && (platform === 'linux' || platform === 'freebsd');
}

export interface ListenSettings {
  /**
   * Bind a socket of this process's own with SO_REUSEPORT (a cluster worker then does not share the
   * primary's): needs reusePortAvailable() and a fixed port.
   */
  reusePort?: boolean;
}

/** Listens on host:port (port 0 picks a free one) and resolves with the bound port. */
export async function listen(server: Server, host: string, port: number, options: ListenSettings = {}): Promise<RunningServer> {
  if (options.reusePort && (port === 0 || !reusePortAvailable())) {
    throw new Error(`reusePort needs a fixed port and Node >= 22.12 on Linux or FreeBSD (port ${port}, Node ${process.versions.node} on ${process.platform})`);
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    const done = () => {
      server.off('error', onError);
      resolve();
    };
    // Node 20's types have no reusePort; the option is read by the Node versions reusePortAvailable() admits.
    if (options.reusePort) server.listen({ port, host, exclusive: true, reusePort: true } as NetListenOptions, done);
    else server.listen(port, host, done);
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { server, port: bound, url: `http://${urlHost}:${bound}`, close: () => closeServer(server) };
}

/**
 * Response field every service adds to its answers while it drains (graceful shutdown), named in
 * its Connection field so that no proxy passes it on or stores it: a balancer that sees it takes
 * the backend out of rotation at once (load-balancer/src/health.ts).
 */
export const DRAINING_FIELD = 'x-cdn-lab-draining';

/** The health route every service answers; 503 while draining. */
const HEALTH_PATH = '/healthz';

/** How often a draining server closes the keep-alive sockets whose request has finished. */
const IDLE_SWEEP_MS = 50;

export interface DrainResult {
  /** True when every in-flight request finished within the grace; false when some were cut. */
  completed: boolean;
  ms: number;
}

/**
 * Graceful drain: stops accepting connections; a request still arriving on an open connection is
 * served with `Connection: close` and DRAINING_FIELD (and /healthz answers 503 `draining`), so the
 * balancer in front takes this backend out; keep-alive sockets are closed as their request
 * finishes; in-flight requests get up to `graceMs`, then what remains is cut.
 */
export function drainServer(server: Server, graceMs: number): Promise<DrainResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    if (!server.listening) return resolve({ completed: true, ms: 0 });
    // Every request from now on passes through here first; the service's own handlers still answer it.
    const handlers = server.listeners('request') as ((req: IncomingMessage, res: ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('connection', `close, ${DRAINING_FIELD}`);
      res.setHeader(DRAINING_FIELD, '1');
      const path = req.url?.split('?', 1)[0];
      if (path === HEALTH_PATH) {
        req.resume();
        const body = JSON.stringify({ status: 'draining' });
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : body);
        return;
      }
      for (const handler of handlers) handler.call(server, req, res);
    });
    let completed = true;
    const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
    const deadline = setTimeout(() => {
      completed = false;
      server.closeAllConnections();
    }, graceMs);
    sweep.unref();
    deadline.unref();
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve({ completed, ms: Math.round(performance.now() - started) });
    });
  });
}

/** Stops accepting, lets in-flight requests finish for `graceMs` (a drain, see drainServer), then drops what remains. */
export async function closeServer(server: Server, graceMs = 2000): Promise<void> {
  await drainServer(server, graceMs);
}

export interface ServeOptions {
  service: string;
  server: Server;
  host: string;
  port: number;
  logger: Logger;
  /** Extra cleanup after the server closed (timers, agents). */
  onClose?: () => Promise<void> | void;
  /**
   * How long in-flight requests may take to finish after SIGTERM/SIGINT before they are cut
   * (the service's DRAIN_GRACE_MS); default 2000.
   */
  drainGraceMs?: number;
  /** A second server for operators (metrics), listened beside the main one and closed after its drain. */
  metricsListener?: { server: Server; host: string; port: number };
  /** The main server's socket is this process's own, with SO_REUSEPORT (see ListenSettings). */
  reusePort?: boolean;
}

/**
 * Entry-point helper for `main.ts`: listen, tell the parent (if any) we are ready, and shut down
 * cleanly on SIGTERM/SIGINT or when the parent goes away (so no process outlives the lab).
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { service, server, logger } = options;
  const running = await listen(server, options.host, options.port, { reusePort: options.reusePort ?? false });
  logger.info({ port: running.port, host: options.host }, 'listening');
  const metricsListener = options.metricsListener
    ? await listen(options.metricsListener.server, options.metricsListener.host, options.metricsListener.port)
    : undefined;
  if (metricsListener) logger.info({ port: metricsListener.port, host: options.metricsListener!.host }, 'metrics listening');
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    const graceMs = options.drainGraceMs ?? 2000;
    logger.info({ reason, graceMs }, 'shutting down: draining');
    const drain = await drainServer(server, graceMs);
    if (drain.completed) logger.info({ ms: drain.ms }, 'drained: every in-flight request finished');
    else logger.warn({ ms: drain.ms, graceMs }, 'drain grace over: remaining connections cut');
    // Metrics stay scrapeable through the drain; a scrape in progress is not worth waiting for.
    if (metricsListener) await closeServer(metricsListener.server, 0);
    await options.onClose?.();
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  if (process.send) {
    process.once('disconnect', () => void shutdown('parent disconnected'));
    const ready: ReadyMessage = {
      type: 'ready',
      service,
      host: options.host,
      port: running.port,
      ...(metricsListener ? { metricsPort: metricsListener.port } : {}),
    };
    process.send(ready);
  }
  return running;
}

/** Runs `main`, printing a config or startup error plainly and exiting non-zero (2 for bad config). */
export function runMain(main: () => Promise<unknown>): void {
  main().catch((error: unknown) => {
    const isConfig = error instanceof Error && error.name === 'ConfigError';
    process.stderr.write(`${isConfig ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`);
    process.exit(isConfig ? 2 : 1);
  });
}
