// Security groups that allow only what the lab needs, as data (so tests and the policy pack read
// the same table) and as resources. Only the ALB's client listener is open to the internet;
// Grafana and Prometheus are reachable through the ALB from one configured CIDR.
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { SERVICE_PORT } from '../components/stack-config.ts';

export const GROUPS = ['alb', 'edge', 'origin', 'prometheus', 'loki', 'grafana'] as const;
export type GroupName = (typeof GROUPS)[number];

export const PORTS = { service: SERVICE_PORT, prometheus: 9090, loki: 3100, grafana: 3000, https: 443 } as const;

export type Peer = { group: GroupName } | { cidr: string };
export interface RuleSpec {
  direction: 'ingress' | 'egress';
  group: GroupName;
  port: number;
  peer: Peer;
  description: string;
}

export interface SecurityRulesInput {
  listenerPort: number;
  /** Who may open Grafana and Prometheus (through the ALB). */
  operatorCidr: string;
}

/** Every rule of the lab: ingress and egress, by group. */
export function securityRules({ listenerPort, operatorCidr }: SecurityRulesInput): RuleSpec[] {
  const rules: RuleSpec[] = [];
  // One rule in each direction: `group` accepts `port` from `source`, which may send to it.
  const allow = (source: Peer, group: GroupName, port: number, description: string) => {
    rules.push({ direction: 'ingress', group, port, peer: source, description });
    if ('group' in source) rules.push({ direction: 'egress', group: source.group, port, peer: { group }, description });
  };
  allow({ cidr: '0.0.0.0/0' }, 'alb', listenerPort, 'clients to the CDN listener');
  allow({ cidr: operatorCidr }, 'alb', PORTS.grafana, 'operators to Grafana');
  allow({ cidr: operatorCidr }, 'alb', PORTS.prometheus, 'operators to Prometheus');
  allow({ group: 'alb' }, 'edge', PORTS.service, 'ALB to edges');
  allow({ group: 'alb' }, 'grafana', PORTS.grafana, 'ALB to Grafana');
  allow({ group: 'alb' }, 'prometheus', PORTS.prometheus, 'ALB to Prometheus');
  allow({ group: 'edge' }, 'edge', PORTS.service, 'edges to the shield and to peers');
  allow({ group: 'edge' }, 'origin', PORTS.service, 'edges to origins');
  allow({ group: 'prometheus' }, 'edge', PORTS.service, 'Prometheus scrapes edge /metrics');
  allow({ group: 'prometheus' }, 'origin', PORTS.service, 'Prometheus scrapes origin /metrics');
  allow({ group: 'grafana' }, 'prometheus', PORTS.prometheus, 'Grafana queries Prometheus');
  allow({ group: 'grafana' }, 'loki', PORTS.loki, 'Grafana queries Loki');
  allow({ group: 'edge' }, 'loki', PORTS.loki, 'edge log router ships to Loki');
  allow({ group: 'origin' }, 'loki', PORTS.loki, 'origin log router ships to Loki');
  for (const group of GROUPS.filter((g) => g !== 'alb')) {
    rules.push({ direction: 'egress', group, port: PORTS.https, peer: { cidr: '0.0.0.0/0' }, description: 'image pulls (ECR, Docker Hub) and SSM' });
  }
  return rules;
}

export interface LabSecurityGroupsArgs extends SecurityRulesInput {
  vpcId: pulumi.Input<string>;
  tags: Record<string, string>;
}

export class LabSecurityGroups extends pulumi.ComponentResource {
  readonly groups: Record<GroupName, aws.ec2.SecurityGroup>;

  constructor(name: string, args: LabSecurityGroupsArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:aws:SecurityGroups', name, {}, opts);
    const child = { parent: this };
    this.groups = Object.fromEntries(
      GROUPS.map((group) => [
        group,
        new aws.ec2.SecurityGroup(
          `${name}-${group}`,
          // No inline rules: every rule is its own resource below, so none is implicit (AWS's
          // default allow-all egress is removed when the group is created by the provider).
          { vpcId: args.vpcId, description: `cdn-lab ${group}`, tags: { ...args.tags, Name: `${name}-${group}` } },
          child,
        ),
      ]),
    ) as Record<GroupName, aws.ec2.SecurityGroup>;
    for (const rule of securityRules(args)) {
      const peerName = 'group' in rule.peer ? rule.peer.group : rule.peer.cidr.replace(/[./]/g, '-');
      const ruleName = `${name}-${rule.group}-${rule.direction}-${rule.port}-${peerName}`;
      const common = {
        securityGroupId: this.groups[rule.group].id,
        ipProtocol: 'tcp',
        fromPort: rule.port,
        toPort: rule.port,
        description: rule.description,
        tags: args.tags,
        ...('group' in rule.peer ? { referencedSecurityGroupId: this.groups[rule.peer.group].id } : { cidrIpv4: rule.peer.cidr }),
      };
      if (rule.direction === 'ingress') new aws.vpc.SecurityGroupIngressRule(ruleName, common, child);
      else new aws.vpc.SecurityGroupEgressRule(ruleName, common, child);
    }
    this.registerOutputs({ groupIds: Object.fromEntries(GROUPS.map((g) => [g, this.groups[g].id])) });
  }
}
