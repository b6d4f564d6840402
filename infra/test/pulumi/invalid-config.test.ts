// The program refuses bad configuration with a message naming the key, before creating anything.
// (One program import per process: this file imports it once, with a config nginx cannot serve.)
import test from 'ava';
import * as pulumi from '@pulumi/pulumi';
import { runProgram } from './harness.ts';

test('nginx with an algorithm it lacks fails with a RunError naming both keys', async (t) => {
  const error = await t.throwsAsync(
    runProgram(
      {
        'cdn-lab:backend': 'docker',
        'cdn-lab:topology': JSON.stringify({ balancer: { algorithm: 'bounded-load' } }),
        'cdn-lab:docker': JSON.stringify({ balancer: 'nginx' }),
        'cdn-lab:grafanaAdminPassword': 'pw',
      },
      { stack: 'bad', secretKeys: ['cdn-lab:grafanaAdminPassword'] },
    ),
  );
  t.true(pulumi.RunError.isInstance(error), 'a RunError: printed without a stack trace');
  t.regex(error!.message, /cdn-lab:docker\.balancer: nginx cannot balance with "bounded-load" \(cdn-lab:topology\.balancer\.algorithm\)/);
});
