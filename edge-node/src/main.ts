// Entry point: env -> config -> edge -> listen (service-kit handles readiness and shutdown).
import { createLogger, runMain, serve } from '@cdn-lab/service-kit';
import { createEdge } from './app.ts';
import { edgeConfigFromEnv, edgeDrainGraceMs } from './config.ts';

runMain(async () => {
  const config = edgeConfigFromEnv();
  const logger = createLogger({ service: 'edge-node', level: config.logLevel, base: { edge: config.edgeId, policy: config.cachePolicy } });
  const edge = createEdge(config, { logger });
  await serve({ service: 'edge-node', server: edge.server, host: config.host, port: config.port, logger, drainGraceMs: edgeDrainGraceMs(config), onClose: () => edge.close() });
});
