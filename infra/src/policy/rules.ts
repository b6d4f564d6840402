// Policy rules for the lab's stacks (CrossGuard, @pulumi/policy): the guarantees the mock tests
// check, enforced on every `pulumi preview/up --policy-pack infra/src/policy`. Rules live here,
// apart from the PolicyPack (index.ts), because constructing a PolicyPack starts a gRPC server;
// tests call validateResource directly.
import type { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from '@pulumi/policy';
import { RESERVED_PATH_PATTERNS } from '@cdn-lab/service-kit';

export interface LabPolicyConfig {
  /** Ports that may be open to 0.0.0.0/0 or ::/0 (the ALB's client listener). */
  publicPorts: number[];
  /** Host addresses Docker containers may publish ports on. */
  dockerBindAddresses: string[];
  /** Tags every taggable AWS resource carries. */
  requiredTags: string[];
}

export const DEFAULT_POLICY_CONFIG: LabPolicyConfig = {
  publicPorts: [80],
  dockerBindAddresses: ['127.0.0.1', '::1'],
  requiredTags: ['Project', 'Stack'],
};

/** AWS resource types of the lab that take no tags. */
export const UNTAGGABLE_AWS_TYPES = new Set([
  'aws:ec2/routeTableAssociation:RouteTableAssociation',
  'aws:ec2/securityGroupRule:SecurityGroupRule',
  'aws:iam/rolePolicyAttachment:RolePolicyAttachment',
  'aws:iam/rolePolicy:RolePolicy',
  'aws:ecr/lifecyclePolicy:LifecyclePolicy',
]);

const OPEN_CIDRS = new Set(['0.0.0.0/0', '::/0']);

function config(args: ResourceValidationArgs): LabPolicyConfig {
  let given: Partial<LabPolicyConfig> = {};
  try {
    given = args.getConfig<Partial<LabPolicyConfig>>();
  } catch {
    // No config for this pack: the defaults apply.
  }
  return { ...DEFAULT_POLICY_CONFIG, ...given };
}

interface PortRange {
  protocol: string;
  fromPort?: number;
  toPort?: number;
  cidrs: string[];
}

/** Ingress rules of any of the three ways AWS security group ingress can be written. */
function ingressRanges(args: ResourceValidationArgs): PortRange[] {
  const p = args.props;
  switch (args.type) {
    case 'aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule':
      return [{ protocol: String(p.ipProtocol), fromPort: p.fromPort, toPort: p.toPort, cidrs: [p.cidrIpv4, p.cidrIpv6].filter(Boolean) }];
    case 'aws:ec2/securityGroupRule:SecurityGroupRule':
      return p.type === 'ingress'
        ? [{ protocol: String(p.protocol), fromPort: p.fromPort, toPort: p.toPort, cidrs: [...(p.cidrBlocks ?? []), ...(p.ipv6CidrBlocks ?? [])] }]
        : [];
    case 'aws:ec2/securityGroup:SecurityGroup':
      return ((p.ingress ?? []) as Record<string, unknown>[]).map((rule) => ({
        protocol: String(rule.protocol),
        fromPort: rule.fromPort as number,
        toPort: rule.toPort as number,
        cidrs: [...((rule.cidrBlocks as string[]) ?? []), ...((rule.ipv6CidrBlocks as string[]) ?? [])],
      }));
    default:
      return [];
  }
}

export const noInternetIngress: ResourceValidationPolicy = {
  name: 'cdn-lab-no-internet-ingress',
  description: 'Only the public listener port (the ALB\'s) may be open to 0.0.0.0/0 or ::/0.',
  enforcementLevel: 'mandatory',
  validateResource: (args: ResourceValidationArgs, report: ReportViolation) => {
    const { publicPorts } = config(args);
    for (const range of ingressRanges(args)) {
      const open = range.cidrs.filter((cidr) => OPEN_CIDRS.has(cidr));
      if (open.length === 0) continue;
      const allPorts = range.protocol === '-1' || range.protocol === 'all';
      const single = range.fromPort === range.toPort && publicPorts.includes(Number(range.fromPort));
      if (allPorts || !single) {
        const ports = allPorts ? 'all ports' : range.fromPort === range.toPort ? `port ${range.fromPort}` : `ports ${range.fromPort}-${range.toPort}`;
        report(`${args.name} opens ${ports} to ${open.join(', ')}; only ${publicPorts.join(', ')} may be public`);
      }
    }
  },
};

export const targetGroupsHealthChecked: ResourceValidationPolicy = {
  name: 'cdn-lab-target-group-health-check',
  description: 'Every ALB target group health-checks an HTTP path and expects 200.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== 'aws:lb/targetGroup:TargetGroup') return;
    const check = args.props.healthCheck as { enabled?: boolean; path?: string; matcher?: string } | undefined;
    if (!check || check.enabled === false) report(`${args.name} has no health check`);
    else if (!check.path?.startsWith('/')) report(`${args.name}: health check has no path`);
    else if (!check.matcher) report(`${args.name}: health check accepts any status; set matcher (e.g. "200")`);
  },
};

export const requiredTags: ResourceValidationPolicy = {
  name: 'cdn-lab-required-tags',
  description: 'Every taggable AWS resource carries the lab\'s tags (cost allocation, clean-up).',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (!args.type.startsWith('aws:') || UNTAGGABLE_AWS_TYPES.has(args.type)) return;
    const tags = (args.props.tags ?? {}) as Record<string, string>;
    const missing = config(args).requiredTags.filter((tag) => !tags[tag]);
    if (missing.length > 0) report(`${args.type} ${args.name} lacks tag(s): ${missing.join(', ')}`);
  },
};

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY/i;

export const noPlaintextSecrets: ResourceValidationPolicy = {
  name: 'cdn-lab-no-plaintext-secrets',
  description: 'ECS task definitions take passwords and tokens from `secrets` (SSM), never `environment`.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== 'aws:ecs/taskDefinition:TaskDefinition') return;
    let containers: { name?: string; environment?: { name: string }[] }[];
    try {
      containers = JSON.parse(String(args.props.containerDefinitions));
    } catch {
      report(`${args.name}: containerDefinitions is not JSON`);
      return;
    }
    for (const container of containers) {
      for (const variable of container.environment ?? []) {
        if (SECRET_NAME.test(variable.name)) report(`${args.name}/${container.name}: ${variable.name} is in plain environment; use secrets`);
      }
    }
  },
};

export const dockerExposure: ResourceValidationPolicy = {
  name: 'cdn-lab-docker-exposure',
  description: 'Docker containers publish ports only on the allowed host addresses, are never privileged, and mount the Docker socket read-only.',
  enforcementLevel: 'mandatory',
  validateResource: (args, report) => {
    if (args.type !== 'docker:index/container:Container') return;
    const { dockerBindAddresses } = config(args);
    for (const port of (args.props.ports ?? []) as { internal: number; external?: number; ip?: string }[]) {
      const ip = port.ip ?? '0.0.0.0';
      if (!dockerBindAddresses.includes(ip)) report(`${args.name} publishes ${port.internal} on ${ip}; allowed: ${dockerBindAddresses.join(', ')}`);
    }
    if (args.props.privileged) report(`${args.name} is privileged`);
    for (const volume of (args.props.volumes ?? []) as { hostPath?: string; readOnly?: boolean }[]) {
      if (volume.hostPath === '/var/run/docker.sock' && !volume.readOnly) report(`${args.name} mounts the Docker socket writable`);
    }
  },
};

export const LAB_POLICIES: ResourceValidationPolicy[] = [noInternetIngress, targetGroupsHealthChecked, requiredTags, noPlaintextSecrets, dockerExposure];

/** What the stack rules read of a resource (a subset of @pulumi/policy's PolicyResource). */
export interface StackResource {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
  /** Resources each input depends on: how a listener rule is tied to its listener before ARNs exist. */
  propertyDependencies?: Record<string, { urn: string }[]>;
}

const LISTENER = 'aws:lb/listener:Listener';
const LISTENER_RULE = 'aws:lb/listenerRule:ListenerRule';

/** Violations of `albRefusesInternalPaths` in a whole stack (for tests and previews without the CLI). */
export function internalPathViolations(resources: readonly StackResource[], policyConfig: Partial<LabPolicyConfig> = {}): string[] {
  const { publicPorts } = { ...DEFAULT_POLICY_CONFIG, ...policyConfig };
  const violations: string[] = [];
  const rules = resources.filter((r) => r.type === LISTENER_RULE);
  for (const listener of resources.filter((r) => r.type === LISTENER && publicPorts.includes(Number(r.props.port)))) {
    const attached = rules.filter(
      (rule) => rule.propertyDependencies?.listenerArn?.some((dep) => dep.urn === listener.urn) || (listener.props.arn !== undefined && rule.props.listenerArn === listener.props.arn),
    );
    const covered = new Set<string>();
    for (const rule of attached) {
      const actions = (rule.props.actions ?? []) as { type?: string; fixedResponse?: { statusCode?: string } }[];
      const refuses = actions.length > 0 && actions.every((a) => a.type === 'fixed-response' && /^4\d\d$/.test(String(a.fixedResponse?.statusCode)));
      if (!refuses) continue;
      for (const condition of (rule.props.conditions ?? []) as { pathPattern?: { values?: string[] } }[]) {
        for (const value of condition.pathPattern?.values ?? []) covered.add(value);
      }
    }
    const missing = RESERVED_PATH_PATTERNS.filter((pattern) => !covered.has(pattern));
    if (missing.length > 0) violations.push(`${listener.name} (port ${listener.props.port}) forwards ${missing.join(', ')} to its targets; answer them with a fixed 4xx listener rule`);
  }
  return violations;
}

export const albRefusesInternalPaths: StackValidationPolicy = {
  name: 'cdn-lab-alb-internal-paths',
  description: 'A public ALB listener answers the services\' own paths (/metrics, /healthz, /_*) itself with a 4xx: metrics are for Prometheus, admin for operators.',
  enforcementLevel: 'mandatory',
  validateStack: (args, report) => {
    let given: Partial<LabPolicyConfig> = {};
    try {
      given = args.getConfig<Partial<LabPolicyConfig>>();
    } catch {
      // No config for this pack: the defaults apply.
    }
    for (const message of internalPathViolations(args.resources as unknown as StackResource[], given)) report(message);
  },
};

export const LAB_STACK_POLICIES: StackValidationPolicy[] = [albRefusesInternalPaths];

/** Runs every rule on one resource and returns the violations (for tests and previews without the CLI). */
export async function violationsOf(resource: { type: string; name: string; props: Record<string, unknown> }, policyConfig: Partial<LabPolicyConfig> = {}): Promise<string[]> {
  const violations: string[] = [];
  const args = {
    type: resource.type,
    name: resource.name,
    urn: `urn:pulumi:test::cdn-lab::${resource.type}::${resource.name}`,
    props: resource.props,
    getConfig: () => ({ ...DEFAULT_POLICY_CONFIG, ...policyConfig }),
  } as unknown as ResourceValidationArgs;
  for (const policy of LAB_POLICIES) {
    const validate = policy.validateResource;
    const validators = Array.isArray(validate) ? validate : validate ? [validate] : [];
    for (const run of validators) await run(args, (message) => violations.push(`${policy.name}: ${message}`));
  }
  return violations;
}
