export { createBalancer, SERVICE_NAME, type Balancer, type BalancerDeps } from './app.ts';
export { configSchema, loadConfig, lbEnv, renderBackends, LB_ENV, type LbConfig, type LbConfigInput, type BackendConfig } from './config.ts';
export { ALGORITHMS, ALGORITHM_NAMES, createAlgorithm, isAlgorithmName, type AlgorithmName } from './algorithms/registry.ts';
export type { Backend, LoadBalancingAlgorithm, PickRequest, AlgorithmOptions } from './algorithms/types.ts';
export { createMetrics, BACKEND_ERROR_REASONS, type BalancerMetrics, type BackendErrorReason } from './metrics.ts';
export { stripHopByHop, PROXY_ERRORS } from './proxy.ts';
