// Listening, readiness and graceful shutdown, the same for origin, edge and balancer.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from './logger.ts';

/** Message a service sends to its parent (the local lab) over the IPC channel once it listens. */
export interface ReadyMessage {
  type: 'ready';
  service: string;
  host: string;
  port: number;
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one) and resolves with the bound port. */
export async function listen(server: Server, host: string, port: number): Promise<RunningServer> {
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { server, port: bound, url: `http://${urlHost}:${bound}`, close: () => closeServer(server) };
}

/** Stops accepting, lets in-flight requests finish for `graceMs`, then drops what remains. */
export function closeServer(server: Server, graceMs = 2000): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    const timer = setTimeout(() => server.closeAllConnections(), graceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    server.closeIdleConnections();
  });
}

export interface ServeOptions {
  service: string;
  server: Server;
  host: string;
  port: number;
  logger: Logger;
  /** Extra cleanup after the server closed (timers, agents). */
  onClose?: () => Promise<void> | void;
}

/**
 * Entry-point helper for `main.ts`: listen, tell the parent (if any) we are ready, and shut down
 * cleanly on SIGTERM/SIGINT or when the parent goes away (so no process outlives the lab).
 */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const { service, server, logger } = options;
  const running = await listen(server, options.host, options.port);
  logger.info({ port: running.port, host: options.host }, 'listening');
  let closing = false;
  const shutdown = async (reason: string) => {
    if (closing) return;
    closing = true;
    logger.info({ reason }, 'shutting down');
    await running.close();
    await options.onClose?.();
    logger.flush?.();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  if (process.send) {
    process.once('disconnect', () => void shutdown('parent disconnected'));
    const ready: ReadyMessage = { type: 'ready', service, host: options.host, port: running.port };
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
