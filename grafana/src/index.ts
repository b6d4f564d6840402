export * from './prometheus.ts';
export * from './rules.ts';
export * from './datasources.ts';
export * from './queries.ts';
export { RULE_FILES, RULE_TESTS_FILE, GRAFANA_DIR, renderAll, staleFiles } from './render.ts';
export * from './query-syntax.ts';
