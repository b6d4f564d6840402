export * from './prometheus.ts';
export * from './rules.ts';
export * from './datasources.ts';
export * from './queries.ts';
export { RULE_FILES, GRAFANA_DIR, renderAll } from './render.ts';
