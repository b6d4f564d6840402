// Runs infra/index.ts under Pulumi mocks and records every resource it registers (type, name,
// inputs, parent). One program per process: Pulumi's runtime state is global, so each stack has
// its own test file that calls runProgram once.
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';

export interface RecordedResource {
  type: string;
  name: string;
  id: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  inputs: Record<string, any>;
  parent?: string;
  /** Names of the resources this one waits for (explicit dependsOn and the inputs' own). */
  dependencies?: string[];
}

export interface ProgramRun {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
  /** Whether each output was marked secret. */
  secretOutputs: Record<string, boolean>;
  ofType(type: string): RecordedResource[];
  named(name: string): RecordedResource;
}

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Outputs a real provider computes, filled in so the program's interpolations see values. */
export function computedState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'docker-build:index:Image': {
      const digest = `sha256:${sha(name)}`;
      const tags = (inputs.tags as string[] | undefined) ?? [];
      return { digest, ref: `${tags[0]}@${digest}` };
    }
    case 'aws:ecr/repository:Repository':
      return { repositoryUrl: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${inputs.name ?? name}`, arn: `arn:aws:ecr:eu-west-1:123456789012:repository/${name}` };
    case 'aws:lb/loadBalancer:LoadBalancer':
      return { dnsName: `${name}-123.eu-west-1.elb.amazonaws.com`, arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${name}`, arnSuffix: `app/${name}/1` };
    case 'aws:servicediscovery/privateDnsNamespace:PrivateDnsNamespace':
      return { hostedZone: 'Z123', arn: `arn:aws:servicediscovery:eu-west-1:123456789012:namespace/${name}` };
    default:
      return { arn: `arn:aws:mock:eu-west-1:123456789012:${type}/${name}` };
  }
}

/** Answers for data-source calls (invokes) the programs make. */
function callResult(token: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (token) {
    case 'aws:index/getAvailabilityZones:getAvailabilityZones':
      return { names: ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'], zoneIds: ['euw1-az1', 'euw1-az2', 'euw1-az3'], id: 'eu-west-1' };
    case 'aws:ecr/getAuthorizationToken:getAuthorizationToken':
      return { userName: 'AWS', password: 'mock-token', proxyEndpoint: 'https://123456789012.dkr.ecr.eu-west-1.amazonaws.com', authorizationToken: 'bW9jaw==' };
    case 'aws:index/getRegion:getRegion':
      return { name: 'eu-west-1', region: 'eu-west-1', id: 'eu-west-1' };
    case 'aws:index/getCallerIdentity:getCallerIdentity':
      return { accountId: '123456789012', arn: 'arn:aws:iam::123456789012:user/mock', userId: 'mock' };
    case 'aws:iam/getPolicyDocument:getPolicyDocument':
      return { json: JSON.stringify({ Version: '2012-10-17', Statement: inputs.statements ?? [] }) };
    default:
      throw new Error(`unmocked call ${token}`);
  }
}

interface RegisterRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getDependenciesList(): string[];
}

/** A resource's name is the last part of its URN (`urn:pulumi:stack::project::type::name`). */
const nameOfUrn = (urn: string) => urn.slice(urn.lastIndexOf('::') + 2);

export async function runProgram(config: Record<string, string>, options: { stack: string; secretKeys?: string[] }): Promise<ProgramRun> {
  const resources: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const id = `${args.name}-id`;
        resources.push({ type: args.type, name: args.name, id, inputs: args.inputs });
        return { id, state: { ...args.inputs, ...computedState(args.type, args.name, args.inputs) } };
      },
      call(args) {
        return callResult(args.token, args.inputs);
      },
    },
    'cdn-lab',
    options.stack,
    false,
  );
  // The mocks' newResource is not told the parent; the registration request is.
  const parents = new Map<string, string>();
  const dependencies = new Map<string, string[]>();
  const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: RegisterRequest, cb: unknown) => unknown };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    parents.set(`${req.getType()}::${req.getName()}`, req.getParent());
    dependencies.set(`${req.getType()}::${req.getName()}`, req.getDependenciesList().map(nameOfUrn));
    return register(req, cb);
  };
  pulumi.runtime.setAllConfig(config, options.secretKeys);
  const program = (await import('../../index.ts')) as Record<string, unknown>;

  const outputs: Record<string, unknown> = {};
  const secretOutputs: Record<string, boolean> = {};
  for (const [name, value] of Object.entries(program)) {
    if (!pulumi.Output.isInstance(value)) continue;
    outputs[name] = await new Promise((resolve) => value.apply(resolve));
    secretOutputs[name] = await pulumi.isSecret(value);
  }
  // Registration is asynchronous: wait until no new resource has appeared for a few turns.
  let seen = -1;
  for (let quiet = 0; quiet < 20; ) {
    await new Promise((resolve) => setTimeout(resolve, 5));
    if (resources.length === seen) quiet++;
    else {
      seen = resources.length;
      quiet = 0;
    }
  }
  for (const resource of resources) {
    const parent = parents.get(`${resource.type}::${resource.name}`);
    if (parent) resource.parent = parent;
    resource.dependencies = dependencies.get(`${resource.type}::${resource.name}`) ?? [];
  }
  return {
    resources,
    outputs,
    secretOutputs,
    ofType: (type) => resources.filter((r) => r.type === type),
    named: (name) => {
      const found = resources.find((r) => r.name === name);
      if (!found) throw new Error(`no resource named ${name}; have ${resources.map((r) => r.name).join(', ')}`);
      return found;
    },
  };
}

/** The type and name of a resource's parent, from its parent URN (`urn:pulumi:stack::project::a$b::name`). */
export function parentOf(resource: RecordedResource): { type: string; name: string } | undefined {
  if (!resource.parent) return undefined;
  const [, , typePath = '', ...nameParts] = resource.parent.split('::');
  return { type: typePath.split('$').at(-1)!, name: nameParts.join('::') };
}

const SECRET_SIG = '4dabf18193072939515e22adb298388d';

/** Replaces Pulumi's wire form of secrets (`{ <sig>: ..., value }`) by the value, deeply (policies see plain values). */
export function revealSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revealSecrets);
  if (value && typeof value === 'object') {
    if (SECRET_SIG in value) return revealSecrets((value as unknown as { value: unknown }).value);
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revealSecrets(v)]));
  }
  return value;
}
