// The dependency direction is enforced by lint (eslint.config.js): a service importing a sibling
// service, infra, grafana, loadtest or Pulumi fails `npm run lint`; service-kit imports no workspace.
import path from 'node:path';
import test from 'ava';
import { ESLint } from 'eslint';

const ROOT = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: ROOT });

async function restricted(file: string, source: string): Promise<string[]> {
  const [result] = await eslint.lintText(source, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

test('a service importing a sibling service, by package or by path, fails lint', async (t) => {
  for (const [file, specifier] of [
    ['edge-node/src/probe.ts', '@cdn-lab/load-balancer/algorithms/consistent-hash'],
    ['edge-node/test/probe.test.ts', '@cdn-lab/origin'],
    ['origin/src/probe.ts', '../../edge-node/src/config.ts'],
    ['load-balancer/src/probe.ts', '@cdn-lab/infra/plan'],
    ['load-balancer/src/probe.ts', '@pulumi/pulumi'],
    ['service-kit/src/probe.ts', '@cdn-lab/edge-node'],
  ] as const) {
    const messages = await restricted(file, `import * as other from '${specifier}';\nexport const kept = other;\n`);
    t.is(messages.length, 1, `${file} importing ${specifier}`);
    t.regex(messages[0]!, /may import only its own code/);
  }
});

test('services may import service-kit and their own code; the layers above may import services', async (t) => {
  for (const [file, specifier] of [
    ['edge-node/src/probe.ts', '@cdn-lab/service-kit'],
    ['edge-node/src/probe.ts', './config.ts'],
    ['infra/src/probe.ts', '@cdn-lab/edge-node/config'],
    ['loadtest/src/probe.ts', '@cdn-lab/load-balancer/algorithms/registry'],
  ] as const) {
    t.deepEqual(await restricted(file, `import * as other from '${specifier}';\nexport const kept = other;\n`), [], `${file} importing ${specifier}`);
  }
});
