// Entry point: read the environment, build the balancer, listen (service-kit `serve`: IPC ready
// message, graceful shutdown on SIGTERM/SIGINT or parent exit). Bad config exits 2 naming the variable.
import { createLogger, runMain, serve } from '@cdn-lab/service-kit';
import { createBalancer, SERVICE_NAME } from './app.ts';
import { lbDrainGraceMs, loadConfig } from './config.ts';

runMain(async () => {
  const config = loadConfig(process.env);
  const logger = createLogger({ service: SERVICE_NAME, base: { lb: config.lbId, algorithm: config.algorithm } });
  const balancer = createBalancer(config, { logger });
  await serve({
    service: SERVICE_NAME,
    server: balancer.server,
    host: config.host,
    port: config.port,
    logger,
    drainGraceMs: lbDrainGraceMs(config),
    ...(balancer.metricsServer && config.metricsPort !== undefined
      ? { metricsListener: { server: balancer.metricsServer, host: config.metricsHost ?? config.host, port: config.metricsPort } }
      : {}),
    onClose: () => balancer.close(),
  });
  logger.info({ backends: config.backends }, 'balancing');
});
