// Public API of the origin workspace.
export * from './app.ts';
export * from './catalogue.ts';
export * from './conditional.ts';
export * from './config.ts';
export * from './faults.ts';
export * from './metrics.ts';
