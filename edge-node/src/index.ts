export { createEdge, type Edge, type EdgeDeps } from './app.ts';
export { EDGE_ENV, edgeConfigFromEnv, edgeConfigSchema, edgeEnv, edgeProcessEnv, type EdgeConfig, type PeerSpec } from './config.ts';
export { CacheStore, type PurgeSelector } from './cache-store.ts';
export { EdgeMetrics, RESULTS, UPSTREAM_KINDS, type Result, type UpstreamKind } from './metrics.ts';
export { HOP_HEADER } from './proxy.ts';
