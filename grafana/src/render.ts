// Renders everything in grafana/ that is generated from code: dashboards JSON, Prometheus rule
// files and Grafana provisioning. The files are committed (the Docker stack mounts them as they
// are); a test fails when a committed file differs from a fresh render.
//   npx tsx grafana/src/render.ts           write the files
//   npx tsx grafana/src/render.ts --check   exit 1 and name the files that are out of date
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { DASHBOARDS } from './dashboards/index.ts';
import { renderDashboardProvider, renderDatasources } from './datasources.ts';
import { ALERT_GROUPS, RECORDING_GROUPS } from './rules.ts';
import { renderRuleTests } from './rule-tests.ts';

/** grafana/ */
export const GRAFANA_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export const RULE_FILES = {
  recording: 'prometheus/rules/recording.yml',
  alerts: 'prometheus/rules/alerts.yml',
} as const;

/** promtool unit tests of the rules. */
export const RULE_TESTS_FILE = 'prometheus/tests/rules.test.yml';

const HEADER = '# Rendered from grafana/src/rules.ts by grafana/src/render.ts; do not edit by hand.\n';

function renderRules(groups: unknown): string {
  // lineWidth 0: never fold long PromQL lines; multi-line expressions become literal blocks.
  return HEADER + stringify({ groups }, { lineWidth: 0 });
}

/** Every generated file: path relative to grafana/ → content. */
export function renderAll(): Map<string, string> {
  const files = new Map<string, string>();
  for (const [name, build] of Object.entries(DASHBOARDS)) {
    files.set(`dashboards/${name}.json`, `${JSON.stringify(build().build(), null, 2)}\n`);
  }
  files.set(RULE_FILES.recording, renderRules(RECORDING_GROUPS));
  files.set(RULE_FILES.alerts, renderRules(ALERT_GROUPS));
  files.set(RULE_TESTS_FILE, renderRuleTests());
  files.set('provisioning/datasources/datasources.yml', renderDatasources());
  files.set('provisioning/dashboards/dashboards.yml', renderDashboardProvider());
  return files;
}

/** Generated files whose committed copy is missing or differs from a fresh render. */
export function staleFiles(root = GRAFANA_DIR): string[] {
  const stale: string[] = [];
  for (const [file, content] of renderAll()) {
    let committed: string | undefined;
    try {
      committed = readFileSync(path.join(root, file), 'utf8');
    } catch {
      committed = undefined;
    }
    if (committed !== content) stale.push(file);
  }
  return stale;
}

export function writeAll(root = GRAFANA_DIR): string[] {
  const written: string[] = [];
  for (const [file, content] of renderAll()) {
    const target = path.join(root, file);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, content);
    written.push(file);
  }
  return written;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    const stale = staleFiles();
    if (stale.length > 0) {
      process.stderr.write(`out of date (run: npx tsx grafana/src/render.ts):\n${stale.map((f) => `  grafana/${f}`).join('\n')}\n`);
      process.exit(1);
    }
    process.stdout.write('grafana/: generated files are up to date\n');
  } else {
    for (const file of writeAll()) process.stdout.write(`wrote grafana/${file}\n`);
  }
}
