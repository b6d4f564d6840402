// The Docker stack under Pulumi mocks: every resource the topology implies, with the inputs that
// matter (images, env, networks, ports, volumes), and nothing published beyond what was asked.
import test from 'ava';
import { existsSync } from 'node:fs';
import { parseTopology } from '../../src/topology.ts';
import { planServices, resolveEnv } from '../../src/plan.ts';
import { violationsOf } from '../../src/policy/rules.ts';
import { parentOf, revealSecrets, runProgram, type ProgramRun, type RecordedResource } from './harness.ts';

const TOPOLOGY = { name: 'lab', origin: { count: 1 }, edges: { count: 3, policy: 'sieve', cacheBytes: '32MiB', tiering: 'shield' }, balancer: { algorithm: 'consistent-hash' } };
const PASSWORD = 'correct horse battery staple';
const ADMIN_TOKEN = 'docker-admin-token-for-tests';

let run: ProgramRun;
test.before(async () => {
  run = await runProgram(
    {
      'cdn-lab:backend': 'docker',
      'cdn-lab:topology': JSON.stringify(TOPOLOGY),
      'cdn-lab:docker': JSON.stringify({ ports: { cdn: 18080, grafana: 13000, prometheus: 19090 } }),
      'cdn-lab:grafanaAdminPassword': PASSWORD,
      'cdn-lab:adminToken': ADMIN_TOKEN,
    },
    { stack: 'docker', secretKeys: ['cdn-lab:grafanaAdminPassword', 'cdn-lab:adminToken'] },
  );
});

const containers = () => run.ofType('docker:index/container:Container');
const container = (id: string) => {
  const found = containers().find((c) => c.inputs.name === `cdn-lab-docker-${id}`);
  if (!found) throw new Error(`no container ${id}`);
  return found;
};
const envOf = (c: RecordedResource) =>
  Object.fromEntries((revealSecrets(c.inputs.envs) as string[]).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));

test('one container per planned service, each with its env from planServices/resolveEnv', (t) => {
  const plans = planServices(parseTopology(TOPOLOGY));
  t.deepEqual(plans.map((p) => p.id), ['origin-0', 'shield-0', 'edge-0', 'edge-1', 'edge-2', 'lb-0']);
  for (const plan of plans) {
    const env = envOf(container(plan.id));
    const operator =
      plan.kind === 'balancer' ? { METRICS_PORT: '9100', METRICS_HOST: '0.0.0.0' } : { ADMIN_TOKEN };
    t.deepEqual(env, { ...resolveEnv(plan, (id) => `http://${id}:8080`), ...operator, HOST: '0.0.0.0', PORT: '8080' }, plan.id);
  }
  t.is(envOf(container('edge-1')).PARENT_URL, 'http://shield-0:8080');
  t.is(envOf(container('edge-1')).CACHE_POLICY, 'sieve');
  t.is(envOf(container('lb-0')).LB_ALGORITHM, 'consistent-hash');
});

test('service containers run the images built from the Dockerfile targets', (t) => {
  const images = run.ofType('docker-build:index:Image');
  t.deepEqual(images.map((i) => i.inputs.target).sort(), ['edge-node', 'load-balancer', 'origin']);
  for (const image of images) {
    t.false(image.inputs.push);
    t.true(image.inputs.dockerfile.location.endsWith('/Dockerfile'));
    t.deepEqual(image.inputs.exports, [{ docker: {} }]);
  }
  t.is(container('origin-0').inputs.image, 'cdn-lab/origin:dev');
  t.is(container('edge-2').inputs.image, 'cdn-lab/edge-node:dev');
  t.is(container('shield-0').inputs.image, 'cdn-lab/edge-node:dev');
  t.is(container('lb-0').inputs.image, 'cdn-lab/load-balancer:dev');
  const digestLabel = container('edge-0').inputs.labels.find((l: { label: string }) => l.label === 'cdn-lab.image-digest');
  t.regex(digestLabel.value, /^sha256:/, 'a rebuilt image replaces the container');
});

test('every container is on the lab network, addressed by its service id', (t) => {
  const [network, ...others] = run.ofType('docker:index/network:Network');
  t.is(others.length, 0);
  t.is(network!.inputs.name, 'cdn-lab-docker-net');
  for (const c of containers()) {
    const attached = c.inputs.networksAdvanced as { name: string; aliases: string[] }[];
    t.is(attached.length, 1, c.inputs.name);
    t.is(attached[0]!.name, 'cdn-lab-docker-net');
    t.true(c.inputs.name.endsWith(`-${attached[0]!.aliases[0]}`));
  }
  t.is(container('edge-0').inputs.networksAdvanced[0].aliases[0], 'edge-0');
});

test('only the CDN, Grafana and Prometheus are published, on loopback, on the configured ports', (t) => {
  const published = containers().flatMap((c) => ((c.inputs.ports ?? []) as { internal: number; external: number; ip: string }[]).map((p) => ({ name: c.inputs.name as string, ...p })));
  t.deepEqual(
    published.map((p) => `${p.name} ${p.ip}:${p.external}->${p.internal}`).sort(),
    ['cdn-lab-docker-grafana 127.0.0.1:13000->3000', 'cdn-lab-docker-lb-0 127.0.0.1:18080->8080', 'cdn-lab-docker-prometheus 127.0.0.1:19090->9090'],
  );
});

test('stack outputs: CDN, Grafana and Prometheus URLs', (t) => {
  t.is(run.outputs.cdnUrl, 'http://127.0.0.1:18080');
  t.is(run.outputs.grafanaUrl, 'http://127.0.0.1:13000');
  t.is(run.outputs.prometheusUrl, 'http://127.0.0.1:19090');
});

test('Prometheus scrapes every service of the plan and keeps its data in a volume', (t) => {
  const prometheus = container('prometheus');
  const config = (prometheus.inputs.uploads as { file: string; content: string }[]).find((u) => u.file === '/etc/prometheus/prometheus.yml')!.content;
  for (const id of ['origin-0', 'shield-0', 'edge-0', 'edge-1', 'edge-2']) t.true(config.includes(`${id}:8080`), id);
  t.true(config.includes('lb-0:9100'), 'the balancer is scraped on its metrics listener, never its clients\' port');
  t.false(config.includes('lb-0:8080'));
  t.regex(config, /rule_files:\n\s+- \/etc\/prometheus\/rules\/recording\.yml/);
  t.true(prometheus.inputs.command.includes('--storage.tsdb.path=/prometheus'));
  const volumes = prometheus.inputs.volumes as { volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }[];
  t.true(volumes.some((v) => v.volumeName === 'cdn-lab-docker-prometheus-data' && v.containerPath === '/prometheus'));
  t.true(volumes.some((v) => v.hostPath?.endsWith('grafana/prometheus/rules') && v.readOnly === true));
});

test('every host file the stack mounts exists in the repository', (t) => {
  const hostPaths = containers().flatMap((c) => ((c.inputs.volumes ?? []) as { hostPath?: string }[]).map((v) => v.hostPath).filter((p): p is string => !!p && p !== '/var/run/docker.sock'));
  t.true(hostPaths.length >= 4);
  for (const hostPath of hostPaths) t.true(existsSync(hostPath), hostPath);
});

test('Loki, Alloy and Grafana keep state in named volumes; Alloy reads the Docker socket read-only', (t) => {
  t.deepEqual(
    run.ofType('docker:index/volume:Volume').map((v) => v.inputs.name).sort(),
    ['cdn-lab-docker-alloy-data', 'cdn-lab-docker-grafana-data', 'cdn-lab-docker-loki-data', 'cdn-lab-docker-prometheus-data'],
  );
  const mounts = (id: string) => container(id).inputs.volumes as { volumeName?: string; hostPath?: string; containerPath: string; readOnly?: boolean }[];
  t.true(mounts('loki').some((v) => v.volumeName === 'cdn-lab-docker-loki-data' && v.containerPath === '/loki'));
  t.true(mounts('loki').some((v) => v.hostPath?.endsWith('grafana/loki/loki.yml') && v.containerPath === '/etc/loki/loki.yml'));
  t.deepEqual(container('loki').inputs.command, ['-config.file=/etc/loki/loki.yml']);
  t.true((container('alloy').inputs.envs as string[]).includes('CDN_LAB_STACK=docker'), 'Alloy keeps only this stack\'s containers');
  t.true(mounts('grafana').some((v) => v.volumeName === 'cdn-lab-docker-grafana-data' && v.containerPath === '/var/lib/grafana'));
  t.true(mounts('grafana').some((v) => v.hostPath?.endsWith('grafana/dashboards') && v.readOnly === true));
  const socket = mounts('alloy').find((v) => v.hostPath === '/var/run/docker.sock');
  t.is(socket?.readOnly, true);
  t.true(mounts('alloy').some((v) => v.hostPath?.endsWith('grafana/alloy/config.alloy')));
});

/** Pulumi's wire form of a secret value: `{ <secret signature>: <sig>, value }`. */
const SECRET_SIG = '4dabf18193072939515e22adb298388d';

test('the Grafana admin password reaches Grafana as a secret and provisioning points at Prometheus and Loki', (t) => {
  const grafana = container('grafana');
  const envs = grafana.inputs.envs as { [SECRET_SIG]?: string; value?: string[] };
  t.truthy(envs[SECRET_SIG], 'envs are sent to the engine as a secret (encrypted in state)');
  t.true(envs.value!.includes(`GF_SECURITY_ADMIN_PASSWORD=${PASSWORD}`));
  t.true(envs.value!.includes('GF_AUTH_ANONYMOUS_ENABLED=false'));
  t.false(JSON.stringify(containers().filter((c) => c !== grafana).map((c) => c.inputs)).includes(PASSWORD), 'no other container sees it');
  const uploads = grafana.inputs.uploads as { file: string; content: string }[];
  const datasources = uploads.find((u) => u.file.endsWith('datasources/datasources.yml'))!.content;
  t.regex(datasources, /url: http:\/\/prometheus:9090/);
  t.regex(datasources, /url: http:\/\/loki:3100/);
  t.true(uploads.some((u) => u.file.endsWith('dashboards/dashboards.yml')));
});

test('children are parented to their components', (t) => {
  const byParent = (type: string) => run.resources.filter((r) => parentOf(r)?.type === type).map((r) => r.inputs.name ?? r.name);
  t.deepEqual(byParent('cdn-lab:docker:LabServices').sort(), ['cdn-lab-docker-edge-0', 'cdn-lab-docker-edge-1', 'cdn-lab-docker-edge-2', 'cdn-lab-docker-lb-0', 'cdn-lab-docker-origin-0', 'cdn-lab-docker-shield-0']);
  t.is(byParent('cdn-lab:images:ServiceImages').length, 3);
  t.true(byParent('cdn-lab:docker:Observability').includes('cdn-lab-docker-grafana'));
  for (const c of containers()) t.truthy(parentOf(c), `${c.inputs.name} has a parent component`);
});

test('the policy pack finds no violation in the stack', async (t) => {
  const violations: string[] = [];
  for (const resource of run.resources) {
    violations.push(...(await violationsOf({ type: resource.type, name: resource.name, props: revealSecrets(resource.inputs) as Record<string, unknown> })));
  }
  t.deepEqual(violations, []);
  t.true(run.resources.length > 10);
});
