// The policy pack's rules, called directly (a PolicyPack would start a gRPC server).
import test from 'ava';
import { internalPathViolations, violationsOf, type StackResource } from '../../src/policy/rules.ts';

const tags = { Project: 'cdn-lab', Stack: 'aws' };
const ingress = (props: Record<string, unknown>) => ({ type: 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule', name: 'rule', props: { ipProtocol: 'tcp', tags, ...props } });

test('internet ingress is allowed only on the public listener port', async (t) => {
  t.deepEqual(await violationsOf(ingress({ fromPort: 80, toPort: 80, cidrIpv4: '0.0.0.0/0' })), []);
  t.deepEqual(await violationsOf(ingress({ fromPort: 3000, toPort: 3000, cidrIpv4: '203.0.113.7/32' })), []);
  t.deepEqual(await violationsOf(ingress({ fromPort: 3000, toPort: 3000, cidrIpv4: '0.0.0.0/0' })), [
    'cdn-lab-no-internet-ingress: rule opens port 3000 to 0.0.0.0/0; only 80 may be public',
  ]);
  t.regex((await violationsOf(ingress({ fromPort: 22, toPort: 22, cidrIpv6: '::/0' })))[0]!, /port 22 to ::\/0/);
  t.regex((await violationsOf(ingress({ fromPort: 0, toPort: 65535, cidrIpv4: '0.0.0.0/0' })))[0]!, /ports 0-65535/);
  t.regex((await violationsOf(ingress({ ipProtocol: '-1', cidrIpv4: '0.0.0.0/0' })))[0]!, /all ports/);
  t.deepEqual(await violationsOf(ingress({ fromPort: 443, toPort: 443, cidrIpv4: '0.0.0.0/0' }), { publicPorts: [80, 443] }), []);
});

test('inline and legacy security group rules are checked too', async (t) => {
  const group = { type: 'aws:ec2/securityGroup:SecurityGroup', name: 'sg', props: { tags, ingress: [{ protocol: 'tcp', fromPort: 9090, toPort: 9090, cidrBlocks: ['0.0.0.0/0'] }] } };
  t.regex((await violationsOf(group))[0]!, /sg opens port 9090/);
  const legacy = { type: 'aws:ec2/securityGroupRule:SecurityGroupRule', name: 'r', props: { type: 'ingress', protocol: 'tcp', fromPort: 8080, toPort: 8080, cidrBlocks: ['0.0.0.0/0'] } };
  t.regex((await violationsOf(legacy))[0]!, /r opens port 8080/);
  t.deepEqual(await violationsOf({ ...legacy, props: { ...legacy.props, type: 'egress' } }), []);
});

test('target groups must health-check a path and expect a status', async (t) => {
  const group = (healthCheck: unknown) => ({ type: 'aws:lb/targetGroup:TargetGroup', name: 'tg', props: { tags, healthCheck } });
  t.deepEqual(await violationsOf(group({ enabled: true, path: '/healthz', matcher: '200' })), []);
  t.deepEqual(await violationsOf(group(undefined)), ['cdn-lab-target-group-health-check: tg has no health check']);
  t.regex((await violationsOf(group({ enabled: true, path: '/healthz' })))[0]!, /matcher/);
  t.regex((await violationsOf(group({ enabled: false, path: '/healthz', matcher: '200' })))[0]!, /no health check/);
});

test('taggable AWS resources need the lab tags; untaggable types are exempt', async (t) => {
  t.deepEqual(await violationsOf({ type: 'aws:ec2/vpc:Vpc', name: 'v', props: { tags: { Project: 'cdn-lab' } } }), ['cdn-lab-required-tags: aws:ec2/vpc:Vpc v lacks tag(s): Stack']);
  t.deepEqual(await violationsOf({ type: 'aws:iam/rolePolicyAttachment:RolePolicyAttachment', name: 'a', props: {} }), []);
  t.deepEqual(await violationsOf({ type: 'docker:index/network:Network', name: 'n', props: {} }), []);
});

test('no password in a task definition environment', async (t) => {
  const task = (environment: unknown[]) => ({
    type: 'aws:ecs/taskDefinition:TaskDefinition',
    name: 'grafana',
    props: { tags, containerDefinitions: JSON.stringify([{ name: 'grafana', environment }]) },
  });
  t.deepEqual(await violationsOf(task([{ name: 'GF_SECURITY_ADMIN_USER', value: 'admin' }])), []);
  t.deepEqual(await violationsOf(task([{ name: 'GF_SECURITY_ADMIN_PASSWORD', value: 'x' }])), [
    'cdn-lab-no-plaintext-secrets: grafana/grafana: GF_SECURITY_ADMIN_PASSWORD is in plain environment; use secrets',
  ]);
});

test('docker containers publish on loopback only, unprivileged, socket read-only', async (t) => {
  const container = (props: Record<string, unknown>) => ({ type: 'docker:index/container:Container', name: 'c', props });
  t.deepEqual(await violationsOf(container({ ports: [{ internal: 8080, external: 8080, ip: '127.0.0.1' }] })), []);
  t.deepEqual(await violationsOf(container({ ports: [{ internal: 8080, external: 8080 }] })), [
    'cdn-lab-docker-exposure: c publishes 8080 on 0.0.0.0; allowed: 127.0.0.1, ::1',
  ]);
  t.regex((await violationsOf(container({ privileged: true })))[0]!, /privileged/);
  t.regex((await violationsOf(container({ volumes: [{ hostPath: '/var/run/docker.sock', containerPath: '/var/run/docker.sock' }] })))[0]!, /socket writable/);
});

test('a public ALB listener must answer /metrics, /healthz and /_* itself with a 4xx', (t) => {
  const listener: StackResource = { type: 'aws:lb/listener:Listener', name: 'cdn', urn: 'urn:cdn', props: { port: 80, defaultActions: [{ type: 'forward' }] } };
  const operator: StackResource = { type: 'aws:lb/listener:Listener', name: 'grafana', urn: 'urn:grafana', props: { port: 3000 } };
  const rule = (values: string[], action: Record<string, unknown> = { type: 'fixed-response', fixedResponse: { statusCode: '404' } }): StackResource => ({
    type: 'aws:lb/listenerRule:ListenerRule',
    name: `rule-${values.length}`,
    urn: `urn:rule-${values.length}`,
    props: { actions: [action], conditions: [{ pathPattern: { values } }] },
    propertyDependencies: { listenerArn: [{ urn: 'urn:cdn' }] },
  });
  const all = ['/_*', '/metrics', '/metrics/*', '/healthz', '/healthz/*'];
  t.deepEqual(internalPathViolations([listener, operator, rule(all)]), []);
  t.deepEqual(internalPathViolations([listener, operator, rule(['/_*', '/metrics']), rule(['/metrics/*', '/healthz', '/healthz/*', '/x'])]), [], 'split over rules');
  t.deepEqual(internalPathViolations([listener, rule(['/_*', '/healthz', '/healthz/*'])]), [
    'cdn (port 80) forwards /metrics, /metrics/* to its targets; answer them with a fixed 4xx listener rule',
  ]);
  t.regex(internalPathViolations([listener, rule(all, { type: 'forward', targetGroupArn: 'tg' })])[0]!, /forwards \/_\*, \/metrics/, 'a rule that forwards does not count');
  t.regex(internalPathViolations([listener])[0]!, /cdn \(port 80\) forwards/);
  t.deepEqual(internalPathViolations([operator]), [], 'operator listeners are not public');
  const tls: StackResource = { ...listener, name: 'tls', urn: 'urn:tls', props: { port: 443 } };
  t.deepEqual(internalPathViolations([listener, tls, rule(all)], { publicPorts: [80, 443] }), [
    'tls (port 443) forwards /_*, /metrics, /metrics/*, /healthz, /healthz/* to its targets; answer them with a fixed 4xx listener rule',
  ], 'a rule on another listener does not count');
});
