export * from './config.ts';
export * from './logger.ts';
export * from './lifecycle.ts';
export * from './random.ts';
export * from './metrics.ts';
export * from './connections.ts';
export * from './http-guard.ts';
