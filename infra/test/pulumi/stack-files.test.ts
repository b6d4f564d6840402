// The committed stack files are valid configurations of the program (the secret aside).
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { CONFIG_NAMESPACE, parseStackConfig } from '../../src/components/stack-config.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function stackConfig(stack: string): Record<string, unknown> {
  const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), 'utf8')) as { config: Record<string, unknown> };
  return file.config;
}
const key = (config: Record<string, unknown>, name: string) => config[`${CONFIG_NAMESPACE}:${name}`];

for (const stack of ['docker', 'aws'] as const) {
  test(`Pulumi.${stack}.yaml selects the ${stack} backend and validates`, (t) => {
    const config = stackConfig(stack);
    const settings = parseStackConfig({ backend: key(config, 'backend'), topology: key(config, 'topology'), docker: key(config, 'docker'), aws: key(config, 'aws') });
    t.is(settings.backend, stack);
    t.true(settings.topology.edges.count >= 1);
    t.is(key(config, 'grafanaAdminPassword'), undefined, 'the secret is set per stack with `pulumi config set --secret`, never committed');
    for (const name of Object.keys(config)) t.regex(name, /^(cdn-lab|aws):/);
  });
}

test('the aws stack file names a region and a non-public Grafana CIDR', (t) => {
  const config = stackConfig('aws');
  t.regex(String(config['aws:region']), /^[a-z]{2}-[a-z]+-\d$/);
  const settings = parseStackConfig({ backend: 'aws', aws: key(config, 'aws') });
  t.not(settings.backend === 'aws' && settings.aws.grafanaCidr, '0.0.0.0/0');
});
