// The services' secrets on AWS: the admin token and a sharded fleet's secret live in SSM as
// SecureStrings and reach the tasks as ECS `secrets`, each only where it is used, never in plain
// environment; the execution role may read exactly those parameters.
// (One program run per process: this file runs the AWS program once, with a sharded fleet.)
import test from 'ava';
import { violationsOf } from '../../src/policy/rules.ts';
import { checkServiceSecret } from '../../src/components/stack-config.ts';
import { revealSecrets, runProgram, type ProgramRun } from './harness.ts';

const ADMIN_TOKEN = 'aws-admin-token-never-plain';
const FLEET_SECRET = 'aws-fleet-secret-never-plain';

let run: ProgramRun;
test.before(async () => {
  run = await runProgram(
    {
      'aws:region': 'eu-west-1',
      'cdn-lab:backend': 'aws',
      'cdn-lab:topology': JSON.stringify({ origin: { count: 1 }, edges: { count: 2, tiering: 'sharded' }, balancer: { algorithm: 'round-robin' } }),
      'cdn-lab:aws': JSON.stringify({ grafanaCidr: '203.0.113.7/32' }),
      'cdn-lab:grafanaAdminPassword': 'grafana-password',
      'cdn-lab:adminToken': ADMIN_TOKEN,
      'cdn-lab:fleetSecret': FLEET_SECRET,
    },
    { stack: 'aws', secretKeys: ['cdn-lab:grafanaAdminPassword', 'cdn-lab:adminToken', 'cdn-lab:fleetSecret'] },
  );
});

interface Container {
  name: string;
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
}
const containersOf = (family: string): Container[] => {
  const task = run.ofType('aws:ecs/taskDefinition:TaskDefinition').find((t) => t.inputs.family === family);
  if (!task) throw new Error(`no task definition ${family}`);
  return JSON.parse(revealSecrets(task.inputs.containerDefinitions) as string) as Container[];
};
const parameter = (slug: string) => {
  const found = run.ofType('aws:ssm/parameter:Parameter').find((p) => p.inputs.name === `/cdn-lab-aws/${slug}`);
  if (!found) throw new Error(`no SSM parameter ${slug}`);
  return found;
};

test('the admin token and the fleet secret are SecureStrings in SSM', (t) => {
  for (const [slug, value] of [['admin-token', ADMIN_TOKEN], ['fleet-secret', FLEET_SECRET]] as const) {
    const found = parameter(slug);
    t.is(found.inputs.type, 'SecureString', slug);
    t.is(revealSecrets(found.inputs.value), value, slug);
  }
});

test('origins get ADMIN_TOKEN, sharded edges ADMIN_TOKEN and FLEET_SECRET, as ECS secrets only', (t) => {
  const secretsOf = (family: string) => {
    const [app] = containersOf(family);
    t.false(JSON.stringify(app!.environment).includes('aws-'), `${family}: no secret in plain environment`);
    return Object.fromEntries((app!.secrets ?? []).map((s) => [s.name, s.valueFrom]));
  };
  const origin = secretsOf('cdn-lab-aws-origin-0');
  t.deepEqual(Object.keys(origin), ['ADMIN_TOKEN']);
  t.true(origin.ADMIN_TOKEN!.endsWith(`/${parameter('admin-token').name}`), 'the mock ARN of the parameter');
  for (const edge of ['cdn-lab-aws-edge-0', 'cdn-lab-aws-edge-1']) {
    const secrets = secretsOf(edge);
    t.deepEqual(Object.keys(secrets).sort(), ['ADMIN_TOKEN', 'FLEET_SECRET'], edge);
    t.true(secrets.FLEET_SECRET!.endsWith(`/${parameter('fleet-secret').name}`), edge);
  }
  const plain = JSON.stringify(run.resources.filter((r) => r.type !== 'aws:ssm/parameter:Parameter').map((r) => r.inputs));
  t.false(plain.includes(ADMIN_TOKEN) || plain.includes(FLEET_SECRET), 'no secret value outside its parameter');
});

test('the execution role reads exactly the three parameters', (t) => {
  const policy = run.ofType('aws:iam/rolePolicy:RolePolicy').find((p) => p.name === 'cdn-lab-aws-read-secrets');
  t.truthy(policy);
  const document = JSON.parse(revealSecrets(policy!.inputs.policy) as string) as { Statement: { Action: string[]; Resource: string[] }[] };
  t.deepEqual(document.Statement[0]!.Action, ['ssm:GetParameters']);
  t.deepEqual(
    document.Statement[0]!.Resource.map((arn) => arn.slice(arn.lastIndexOf('/') + 1)).sort(),
    ['cdn-lab-aws-admin-token', 'cdn-lab-aws-fleet-secret', 'cdn-lab-aws-grafana-admin-password'],
  );
});

test('the policy pack finds no violation', async (t) => {
  const violations: string[] = [];
  for (const resource of run.resources) {
    violations.push(...(await violationsOf({ type: resource.type, name: resource.name, props: revealSecrets(resource.inputs) as Record<string, unknown> })));
  }
  t.deepEqual(violations, []);
});

test('a secret shorter than the services accept fails naming its key', (t) => {
  t.throws(() => checkServiceSecret('adminToken', 'short'), { message: /cdn-lab:adminToken: must be at least 8 characters/ });
  t.throws(() => checkServiceSecret('fleetSecret', 'fifteen-chars!!'), { message: /cdn-lab:fleetSecret: must be at least 16 characters/ });
  t.is(checkServiceSecret('fleetSecret', FLEET_SECRET), FLEET_SECRET);
});
