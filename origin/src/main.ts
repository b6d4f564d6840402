// Entry point: env -> config -> app -> listening server (ready IPC message, graceful shutdown).
import http from 'node:http';
import { createLogger, runMain, serve } from '@cdn-lab/service-kit';
import { createOriginApp } from './app.ts';
import { originConfigFromEnv, originDrainGraceMs } from './config.ts';

runMain(async () => {
  const config = originConfigFromEnv();
  const logger = createLogger({ service: 'origin', level: config.logLevel, base: { origin: config.originId } });
  const { app } = createOriginApp(config, { logger });
  const server = http.createServer(app);
  // Keep idle upstream connections longer than clients' pools do (AWS ALB idles at 60 s), so a
  // client never reuses a socket the origin is closing.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await serve({ service: 'origin', server, host: config.host, port: config.port, logger, drainGraceMs: originDrainGraceMs(config) });
});
