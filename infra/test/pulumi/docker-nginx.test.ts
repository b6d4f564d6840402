// The Docker stack with nginx in front (its own file: one mocked program per process).
import test from 'ava';
import { runProgram, type ProgramRun } from './harness.ts';

let run: ProgramRun;
test.before(async () => {
  run = await runProgram(
    {
      'cdn-lab:backend': 'docker',
      'cdn-lab:topology': JSON.stringify({ edges: { count: 2 }, balancer: { algorithm: 'least-connections' } }),
      'cdn-lab:docker': JSON.stringify({ balancer: 'nginx', bindAddress: '127.0.0.1' }),
      'cdn-lab:grafanaAdminPassword': 'pw',
    },
    { stack: 'nginx', secretKeys: ['cdn-lab:grafanaAdminPassword'] },
  );
});

test('nginx replaces the lab balancer, balancing the edges with least_conn', (t) => {
  const containers = run.ofType('docker:index/container:Container');
  const front = containers.find((c) => c.inputs.name === 'cdn-lab-nginx-lb-0')!;
  t.regex(front.inputs.image, /^nginxinc\/nginx-unprivileged:/);
  const conf = (front.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === '/etc/nginx/nginx.conf')!.content;
  t.regex(conf, /upstream edges \{\n\s+least_conn;\n\s+server edge-0:8080 .*\n\s+server edge-1:8080 /);
  t.deepEqual(front.inputs.ports, [{ internal: 8080, external: 8080, ip: '127.0.0.1' }]);
  t.false(containers.some((c) => String(c.inputs.image).startsWith('cdn-lab/load-balancer')), 'the lab balancer does not run');
  t.is(run.outputs.cdnUrl, 'http://127.0.0.1:8080');
});

test('Prometheus does not scrape nginx (it has no /metrics; / would proxy an edge)', (t) => {
  const prometheus = run.ofType('docker:index/container:Container').find((c) => c.inputs.name === 'cdn-lab-nginx-prometheus')!;
  const config = (prometheus.inputs.uploads as { file: string; content: string }[])[0]!.content;
  t.true(config.includes('edge-0:8080'));
  t.false(config.includes('lb-0'));
});
