// The AWS stack under Pulumi mocks: every resource the topology implies with the inputs that
// matter, and nothing exposed beyond what was asked (only the ALB's client port is open to all).
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { GRAFANA_DIR } from '@cdn-lab/grafana';
import { parseTopology } from '../../src/topology.ts';
import { planServices, resolveEnv } from '../../src/plan.ts';
import { internalPathViolations, UNTAGGABLE_AWS_TYPES, violationsOf, type StackResource } from '../../src/policy/rules.ts';
import { parentOf, revealSecrets, runProgram, type ProgramRun, type RecordedResource } from './harness.ts';

const TOPOLOGY = { origin: { count: 1 }, edges: { count: 3, policy: 'arc', tiering: 'shield' }, balancer: { algorithm: 'least-connections' } };
const OPERATOR_CIDR = '203.0.113.7/32';
const PASSWORD = 'not-in-any-plain-input';
const NS = 'aws.cdn-lab.internal';

let run: ProgramRun;
test.before(async () => {
  run = await runProgram(
    {
      'aws:region': 'eu-west-1',
      'cdn-lab:backend': 'aws',
      'cdn-lab:topology': JSON.stringify(TOPOLOGY),
      'cdn-lab:aws': JSON.stringify({ grafanaCidr: OPERATOR_CIDR, tags: { Owner: 'lab-tests' } }),
      'cdn-lab:grafanaAdminPassword': PASSWORD,
    },
    { stack: 'aws', secretKeys: ['cdn-lab:grafanaAdminPassword'] },
  );
});

interface Container {
  name: string;
  image: string;
  environment?: { name: string; value: string }[];
  secrets?: { name: string; valueFrom: string }[];
  portMappings?: { containerPort: number }[];
  healthCheck?: { command: string[] };
  logConfiguration?: { logDriver: string; options: Record<string, string> };
  firelensConfiguration?: unknown;
}
const SECRET_SIG = '4dabf18193072939515e22adb298388d';
const unwrap = <T>(value: T | { [SECRET_SIG]: string; value: T }): T =>
  value && typeof value === 'object' && SECRET_SIG in (value as object) ? (value as { value: T }).value : (value as T);
const containersOf = (family: string): Container[] => {
  const task = run.ofType('aws:ecs/taskDefinition:TaskDefinition').find((t) => t.inputs.family === family);
  if (!task) throw new Error(`no task definition ${family}`);
  return JSON.parse(unwrap(task.inputs.containerDefinitions) as string) as Container[];
};
const envOf = (c: Container) => Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value]));
const byId = (id: string) => run.resources.find((r) => r.id === id);

test('one Fargate service per planned service (the ALB replaces the lab balancer) plus the observability stack', (t) => {
  t.deepEqual(
    run.ofType('aws:ecs/service:Service').map((s) => s.inputs.name).sort(),
    ['edge-0', 'edge-1', 'edge-2', 'grafana', 'loki', 'origin-0', 'prometheus', 'shield-0'],
  );
  for (const service of run.ofType('aws:ecs/service:Service')) {
    t.is(service.inputs.launchType, 'FARGATE');
    t.is(service.inputs.networkConfiguration.subnets.length, 2, 'spread over both zones');
    t.truthy(service.inputs.serviceRegistries.registryArn, `${service.inputs.name} is in Cloud Map`);
  }
  t.deepEqual(
    run.ofType('aws:servicediscovery/service:Service').map((s) => s.inputs.name).sort(),
    ['edge-0', 'edge-1', 'edge-2', 'grafana', 'loki', 'origin-0', 'prometheus', 'shield-0'],
  );
  t.is(run.ofType('aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace')[0]!.inputs.name, NS);
});

test('each task runs its ECR image with the env from planServices/resolveEnv and ships logs to Loki', (t) => {
  const plans = planServices(parseTopology(TOPOLOGY)).filter((p) => p.kind !== 'balancer');
  for (const plan of plans) {
    const [app, router] = containersOf(`cdn-lab-aws-${plan.id}`);
    t.is(app!.name, plan.id);
    // Edges behind the ALB keep idle connections longer than its 60 s, as AWS asks of targets.
    const keepAlive = /^edge-\d$/.test(plan.id) ? { KEEP_ALIVE_TIMEOUT_MS: '65000' } : {};
    t.deepEqual(envOf(app!), { ...resolveEnv(plan, (id) => `http://${id}.${NS}:8080`), HOST: '0.0.0.0', PORT: '8080', ...keepAlive }, plan.id);
    const workspace = plan.kind === 'origin' ? 'origin' : 'edge-node';
    t.regex(app!.image, new RegExp(`^123456789012\\.dkr\\.ecr\\.eu-west-1\\.amazonaws\\.com/cdn-lab-aws/${workspace}:latest@sha256:[0-9a-f]{64}$`));
    t.deepEqual(app!.portMappings!.map((p) => p.containerPort), [8080]);
    t.regex(app!.healthCheck!.command.join(' '), /127\.0\.0\.1:8080\/healthz/);
    t.is(app!.logConfiguration!.logDriver, 'awsfirelens');
    t.is(app!.logConfiguration!.options.host, `loki.${NS}`);
    t.is(app!.logConfiguration!.options.labels, Object.entries(plan.labels).map(([k, v]) => `${k}=${v}`).join(','));
    t.truthy(router!.firelensConfiguration);
  }
  t.is(envOf(containersOf('cdn-lab-aws-edge-2')[0]!).PARENT_URL, `http://shield-0.${NS}:8080`);
  t.is(envOf(containersOf('cdn-lab-aws-edge-2')[0]!).CACHE_POLICY, 'arc');
});

test('images: origin and edge-node built from the Dockerfile and pushed to their ECR repositories', (t) => {
  const images = run.ofType('docker-build:index:Image');
  t.deepEqual(images.map((i) => i.inputs.target).sort(), ['edge-node', 'grafana', 'origin']);
  for (const image of images) {
    t.true(image.inputs.push);
    t.deepEqual(image.inputs.platforms, ['linux/amd64'], 'the architecture Fargate runs');
    const registries = unwrap(image.inputs.registries) as { address: string; username: string }[];
    t.deepEqual(registries.map((r) => r.address), ['123456789012.dkr.ecr.eu-west-1.amazonaws.com']);
    t.true(SECRET_SIG in image.inputs.registries, 'registry credentials are secret');
  }
  t.deepEqual(run.ofType('aws:ecr/repository:Repository').map((r) => r.inputs.name).sort(), ['cdn-lab-aws/edge-node', 'cdn-lab-aws/grafana', 'cdn-lab-aws/origin']);
  t.is(run.ofType('aws:ecr/lifecyclePolicy:LifecyclePolicy').length, 3);
});

test('the ALB balances the edges with least outstanding requests and health-checks /healthz', (t) => {
  const groups = run.ofType('aws:lb/targetGroup:TargetGroup');
  const edges = groups.find((g) => g.inputs.tags.Role === 'edges')!;
  t.is(edges.inputs.loadBalancingAlgorithmType, 'least_outstanding_requests');
  t.is(edges.inputs.port, 8080);
  t.is(edges.inputs.targetType, 'ip');
  t.like(edges.inputs.healthCheck, { enabled: true, path: '/healthz', matcher: '200', interval: 10 });
  const attached = run
    .ofType('aws:ecs/service:Service')
    .filter((s) => (s.inputs.loadBalancers ?? []).some((lb: { targetGroupArn: string }) => lb.targetGroupArn.endsWith(`/${edges.name}`)))
    .map((s) => s.inputs.name)
    .sort();
  t.deepEqual(attached, ['edge-0', 'edge-1', 'edge-2'], 'the shield and origin are not behind the ALB');
  const [alb] = run.ofType('aws:lb/loadBalancer:LoadBalancer');
  t.is(alb!.inputs.loadBalancerType, 'application');
  t.is(alb!.inputs.subnets.length, 2);
  t.deepEqual(run.ofType('aws:lb/listener:Listener').map((l) => l.inputs.port).sort((a, b) => a - b), [80, 3000, 9090]);
});

/** The recorded resources as the stack policies see them; a listener rule depends on the listener its ARN names. */
function stackResources(): StackResource[] {
  const urn = (r: RecordedResource) => `urn:pulumi:aws::cdn-lab::${r.type}::${r.name}`;
  const listeners = run.ofType('aws:lb/listener:Listener');
  return run.resources.map((r) => {
    const listener = typeof r.inputs.listenerArn === 'string' ? listeners.find((l) => r.inputs.listenerArn.endsWith(`/${l.name}`)) : undefined;
    return { type: r.type, name: r.name, urn: urn(r), props: r.inputs, ...(listener ? { propertyDependencies: { listenerArn: [{ urn: urn(listener) }] } } : {}) };
  });
}

test('the CDN listener answers /metrics, /healthz and /_* itself with 404; only Prometheus reaches metrics', (t) => {
  const cdn = run.ofType('aws:lb/listener:Listener').find((l) => l.inputs.port === 80)!;
  const rules = run.ofType('aws:lb/listenerRule:ListenerRule');
  t.is(rules.length, 1);
  const [rule] = rules;
  t.true(rule!.inputs.listenerArn.endsWith(`/${cdn.name}`), 'on the client listener');
  t.deepEqual(rule!.inputs.conditions, [{ pathPattern: { values: ['/_*', '/metrics', '/metrics/*', '/healthz', '/healthz/*'] } }]);
  t.is(rule!.inputs.actions.length, 1);
  t.like(rule!.inputs.actions[0], { type: 'fixed-response', fixedResponse: { statusCode: '404', contentType: 'application/json' } });
  t.regex(rule!.inputs.actions[0].fixedResponse.messageBody, /"error":"internal_path"/);
  t.deepEqual(internalPathViolations(stackResources()), []);
  // Without the rule, the stack policy objects.
  const withoutRule = stackResources().filter((r) => r.type !== 'aws:lb/listenerRule:ListenerRule');
  t.deepEqual(internalPathViolations(withoutRule), [`${cdn.name} (port 80) forwards /_*, /metrics, /metrics/*, /healthz, /healthz/* to its targets; answer them with a fixed 4xx listener rule`]);
});

test('a VPC over two availability zones', (t) => {
  const subnets = run.ofType('aws:ec2/subnet:Subnet');
  t.deepEqual(subnets.map((s) => s.inputs.availabilityZone).sort(), ['eu-west-1a', 'eu-west-1b']);
  t.deepEqual(subnets.map((s) => s.inputs.cidrBlock).sort(), ['10.42.0.0/20', '10.42.16.0/20']);
  t.is(run.ofType('aws:ec2/vpc:Vpc')[0]!.inputs.cidrBlock, '10.42.0.0/16');
});

/** Security group resources by their mock id, and rules with their groups resolved to names. */
function rules(type: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule' | 'aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule') {
  const groupName = (id: string | undefined) => (id ? (byId(id) as RecordedResource).inputs.description.replace('cdn-lab ', '') : undefined);
  return run.ofType(type).map((r) => ({
    group: groupName(r.inputs.securityGroupId),
    port: r.inputs.fromPort as number,
    toPort: r.inputs.toPort as number,
    from: r.inputs.cidrIpv4 ?? r.inputs.cidrIpv6 ?? groupName(r.inputs.referencedSecurityGroupId),
  }));
}

test('nothing but the ALB listener is open to the internet', (t) => {
  const open = rules('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').filter((r) => r.from === '0.0.0.0/0' || r.from === '::/0');
  t.deepEqual(open, [{ group: 'alb', port: 80, toPort: 80, from: '0.0.0.0/0' }]);
  for (const group of run.ofType('aws:ec2/securityGroup:SecurityGroup')) {
    t.deepEqual(group.inputs.ingress ?? [], [], 'no inline rules');
  }
});

test('ingress follows the data flow: clients→ALB→edges→origin, Prometheus→/metrics, Grafana from the operator CIDR', (t) => {
  const ingress = rules('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule').map((r) => `${r.from} -> ${r.group}:${r.port}`).sort();
  t.deepEqual(ingress, [
    '0.0.0.0/0 -> alb:80',
    `${OPERATOR_CIDR} -> alb:3000`,
    `${OPERATOR_CIDR} -> alb:9090`,
    'alb -> edge:8080',
    'alb -> grafana:3000',
    'alb -> prometheus:9090',
    'edge -> edge:8080',
    'edge -> loki:3100',
    'edge -> origin:8080',
    'grafana -> loki:3100',
    'grafana -> prometheus:9090',
    'origin -> loki:3100',
    'prometheus -> edge:8080',
    'prometheus -> origin:8080',
  ].sort());
  for (const rule of rules('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')) t.is(rule.port, rule.toPort);
});

test('Prometheus scrapes every lab service by its Cloud Map name', (t) => {
  const [prometheus] = containersOf('cdn-lab-aws-prometheus');
  const config = Object.entries(envOf(prometheus!)).find(([, value]) => value.includes('scrape_configs'))![1];
  for (const id of ['origin-0', 'shield-0', 'edge-0', 'edge-1', 'edge-2']) t.true(config.includes(`${id}.${NS}:8080`), id);
  t.false(config.includes('lb-0'), 'no lab balancer on AWS');
});

test('Loki on AWS runs the same config file as on Docker', (t) => {
  const [loki] = containersOf('cdn-lab-aws-loki');
  t.deepEqual(loki!.portMappings!.map((p) => p.containerPort), [3100]);
  const config = Object.values(envOf(loki!)).find((value) => value.includes('allow_structured_metadata'));
  t.is(config, readFileSync(path.join(GRAFANA_DIR, 'loki', 'loki.yml'), 'utf8'));
});

test('the Grafana password lives in SSM as a SecureString and reaches Grafana as an ECS secret', (t) => {
  const [parameter] = run.ofType('aws:ssm/parameter:Parameter');
  t.is(parameter!.inputs.type, 'SecureString');
  t.true(SECRET_SIG in parameter!.inputs.value, 'value is a Pulumi secret');
  const [grafana] = containersOf('cdn-lab-aws-grafana');
  t.regex(grafana!.image, /\/cdn-lab-aws\/grafana:latest@sha256:/, 'the lab\'s Grafana image, dashboards included');
  const files = Object.values(envOf(grafana!)).join('\n');
  t.regex(files, /url: http:\/\/prometheus\.aws\.cdn-lab\.internal:9090/);
  t.regex(files, /path: \/etc\/grafana\/dashboards/);
  t.is(grafana!.secrets!.length, 1);
  t.is(grafana!.secrets![0]!.name, 'GF_SECURITY_ADMIN_PASSWORD');
  t.true(grafana!.secrets![0]!.valueFrom.endsWith(`/${parameter!.name}`), 'the mock ARN of the parameter');
  const plain = JSON.stringify(run.resources.filter((r) => r !== parameter).map((r) => r.inputs));
  t.false(plain.includes(PASSWORD));
});


test('every taggable AWS resource carries the project, stack and configured tags', (t) => {
  const awsResources = run.resources.filter((r) => r.type.startsWith('aws:') && !r.type.startsWith('pulumi:providers'));
  t.true(awsResources.length > 30);
  for (const resource of awsResources.filter((r) => !UNTAGGABLE_AWS_TYPES.has(r.type))) {
    t.like(resource.inputs.tags ?? {}, { Project: 'cdn-lab', Stack: 'aws', Owner: 'lab-tests' }, `${resource.type} ${resource.name}`);
  }
});

test('stack outputs: CDN, Grafana and Prometheus URLs on the ALB', (t) => {
  const dns = run.ofType('aws:lb/loadBalancer:LoadBalancer')[0]!.name;
  t.is(run.outputs.cdnUrl, `http://${dns}-123.eu-west-1.elb.amazonaws.com`);
  t.is(run.outputs.grafanaUrl, `http://${dns}-123.eu-west-1.elb.amazonaws.com:3000`);
  t.is(run.outputs.prometheusUrl, `http://${dns}-123.eu-west-1.elb.amazonaws.com:9090`);
});

test('children are parented to their components', (t) => {
  const parentType = (r: RecordedResource) => parentOf(r)?.type;
  for (const service of run.ofType('aws:ecs/service:Service')) t.is(parentType(service), 'cdn-lab:aws:FargateService');
  for (const subnet of run.ofType('aws:ec2/subnet:Subnet')) t.is(parentType(subnet), 'cdn-lab:aws:LabVpc');
  for (const rule of run.ofType('aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule')) t.is(parentType(rule), 'cdn-lab:aws:SecurityGroups');
  t.is(parentType(run.ofType('aws:lb/loadBalancer:LoadBalancer')[0]!), 'cdn-lab:aws:LoadBalancer');
});

test('the policy pack finds no violation in the stack', async (t) => {
  const violations: string[] = [];
  for (const resource of run.resources) {
    violations.push(...(await violationsOf({ type: resource.type, name: resource.name, props: revealSecrets(resource.inputs) as Record<string, unknown> })));
  }
  t.deepEqual(violations, []);
  t.true(run.resources.length > 10);
});
