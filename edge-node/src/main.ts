// Entry point: env -> config -> edge -> listen (service-kit handles readiness and shutdown). With
// EDGE_WORKERS > 1 this process is the primary of that many edge workers (workers.ts), each of
// which runs this file again as a cluster worker.
import cluster from 'node:cluster';
import { createLogger, runMain, serve } from '@cdn-lab/service-kit';
import { createEdge } from './app.ts';
import { edgeConfigFromEnv, edgeDrainGraceMs } from './config.ts';
import { runPrimary, workerDistribution, workerLink, workerShare } from './workers.ts';

runMain(async () => {
  const config = edgeConfigFromEnv();
  const logger = createLogger({ service: 'edge-node', level: config.logLevel, base: { edge: config.edgeId, policy: config.cachePolicy } });
  if (config.workers > 1 && cluster.isPrimary) return runPrimary(config, logger);
  const workers = workerLink();
  const edge = createEdge(workerShare(config), { logger, ...(workers ? { workers } : {}) });
  await serve({
    service: 'edge-node',
    server: edge.server,
    host: config.host,
    port: config.port,
    logger,
    drainGraceMs: edgeDrainGraceMs(config),
    reusePort: workers !== undefined && workerDistribution(config) === 'reuseport',
    onClose: () => edge.close(),
  });
});
