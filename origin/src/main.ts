// Entry point: env -> config -> app -> listening server (ready IPC message, graceful shutdown).
import http from 'node:http';
import { applyConnectionLimits, connectionsCheckingIntervalMs, createLogger, runMain, serve } from '@cdn-lab/service-kit';
import { createOriginApp } from './app.ts';
import { originConfigFromEnv, originDrainGraceMs } from './config.ts';

runMain(async () => {
  const config = originConfigFromEnv();
  const logger = createLogger({ service: 'origin', level: config.logLevel, base: { origin: config.originId } });
  const { app } = createOriginApp(config, { logger });
  const server = http.createServer({ connectionsCheckingInterval: connectionsCheckingIntervalMs(config) }, app);
  applyConnectionLimits(server, config);
  await serve({ service: 'origin', server, host: config.host, port: config.port, logger, drainGraceMs: originDrainGraceMs(config) });
});
