// Loki and Alloy cannot run here (neither is packaged for this machine): these are static checks.
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { GRAFANA_DIR } from '../src/render.ts';

const lokiConfig = parse(readFileSync(path.join(GRAFANA_DIR, 'loki/loki.yml'), 'utf8')) as Record<string, Record<string, unknown>>;
const alloy = readFileSync(path.join(GRAFANA_DIR, 'alloy/config.alloy'), 'utf8');
/** Alloy source without // comments and string contents, for structural checks. */
const alloyCode = alloy.replace(/\/\/.*$/gm, '').replace(/"(?:[^"\\]|\\.)*"/g, '""');

test('loki.yml: single binary on :3100, filesystem storage, tsdb v13, structured metadata allowed', (t) => {
  t.is(lokiConfig.auth_enabled as unknown, false);
  t.is(lokiConfig.server!.http_listen_port, 3100);
  const common = lokiConfig.common as { replication_factor: number; ring: { kvstore: { store: string } }; storage: { filesystem: Record<string, string> } };
  t.is(common.replication_factor, 1);
  t.is(common.ring.kvstore.store, 'inmemory');
  t.truthy(common.storage.filesystem.chunks_directory);
  const schema = (lokiConfig.schema_config as { configs: { store: string; schema: string; object_store: string }[] }).configs.at(-1)!;
  t.like(schema, { store: 'tsdb', schema: 'v13', object_store: 'filesystem' });
  t.is(lokiConfig.limits_config!.allow_structured_metadata, true);
});

test('loki.yml: retention is enforced by the compactor', (t) => {
  t.regex(String(lokiConfig.limits_config!.retention_period), /^\d+[hd]$/);
  t.is(lokiConfig.compactor!.retention_enabled, true);
  t.is(lokiConfig.compactor!.delete_request_store, 'filesystem');
});

test('config.alloy: braces balance and every referenced component is declared', (t) => {
  let depth = 0;
  for (const ch of alloyCode) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    t.true(depth >= 0);
  }
  t.is(depth, 0);
  const declared = new Set([...alloy.matchAll(/^([a-z_.]+) "([a-z_]+)" \{/gm)].map((m) => `${m[1]}.${m[2]}`));
  t.true(declared.has('loki.source.docker.containers'));
  t.true(declared.has('loki.write.local'));
  const references = [...alloyCode.matchAll(/\b((?:discovery|loki)\.[a-z_.]+)\.(targets|rules|receiver|output)\b/g)].map((m) => m[1]!);
  t.true(references.length >= 4);
  for (const ref of references) t.true(declared.has(ref), `${ref} is used but not declared`);
});

function blockValues(block: string): string[] {
  const match = new RegExp(`${block.replace('.', '\\.')} \\{\\s*values = \\{([^}]*)\\}`).exec(alloy);
  if (!match) return [];
  return [...match[1]!.matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1]!);
}

test('config.alloy: stream labels are only service, edge and policy; request fields are structured metadata', (t) => {
  t.deepEqual(blockValues('stage.labels').sort(), ['edge', 'policy', 'service']);
  const metadata = blockValues('stage.structured_metadata');
  for (const field of ['level', 'method', 'path', 'status', 'result', 'bytes', 'durationMs']) t.true(metadata.includes(field), field);
  for (const label of ['service', 'edge', 'policy']) t.false(metadata.includes(label));
  t.regex(alloy, /url\s*=\s*coalesce\(sys\.env\("LOKI_PUSH_URL"\), "http:\/\/loki:3100\/loki\/api\/v1\/push"\)/);
});

test('config.alloy: only the lab\'s containers (the stack\'s cdn-lab.stack label) are read', (t) => {
  t.regex(alloy, /source_labels = \["__meta_docker_container_label_cdn_lab_stack"\]\s*regex\s*= coalesce\(sys\.env\("CDN_LAB_STACK"\), "\.\+"\)\s*action\s*= "keep"/);
  t.regex(alloy, /targets\s*= discovery\.relabel\.lab\.output/);
});
