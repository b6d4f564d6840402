// The Application Load Balancer in front of the edges (the algorithm from the topology, health
// checks on /healthz), plus two operator listeners for Grafana and Prometheus, which the security
// groups open to the configured CIDR only.
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { SERVICE_PORT } from '../components/stack-config.ts';
import { PORTS } from './security-groups.ts';

export interface LabLoadBalancerArgs {
  vpcId: pulumi.Input<string>;
  subnetIds: pulumi.Input<string>[];
  securityGroupId: pulumi.Input<string>;
  listenerPort: number;
  algorithm: 'round_robin' | 'least_outstanding_requests';
  healthCheckIntervalSeconds: number;
  tags: Record<string, string>;
}

export class LabLoadBalancer extends pulumi.ComponentResource {
  readonly alb: aws.lb.LoadBalancer;
  readonly edgeTargets: aws.lb.TargetGroup;
  readonly grafanaTargets: aws.lb.TargetGroup;
  readonly prometheusTargets: aws.lb.TargetGroup;
  readonly dnsName: pulumi.Output<string>;

  constructor(name: string, args: LabLoadBalancerArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:aws:LoadBalancer', name, {}, opts);
    const child = { parent: this };
    this.alb = new aws.lb.LoadBalancer(
      `${name}-alb`,
      {
        loadBalancerType: 'application',
        internal: false,
        subnets: args.subnetIds,
        securityGroups: [args.securityGroupId],
        // Longer than the ALB's 60 s idle timeout is set on the services (origin keepAliveTimeout 65 s).
        idleTimeout: 60,
        dropInvalidHeaderFields: true,
        tags: args.tags,
      },
      child,
    );
    const targetGroup = (role: string, port: number, healthPath: string, algorithm: LabLoadBalancerArgs['algorithm']) =>
      new aws.lb.TargetGroup(
        `${name}-${role}`,
        {
          vpcId: args.vpcId,
          targetType: 'ip',
          protocol: 'HTTP',
          port,
          loadBalancingAlgorithmType: algorithm,
          deregistrationDelay: 10,
          healthCheck: {
            enabled: true,
            protocol: 'HTTP',
            path: healthPath,
            port: 'traffic-port',
            matcher: '200',
            interval: args.healthCheckIntervalSeconds,
            timeout: Math.min(5, args.healthCheckIntervalSeconds - 1),
            healthyThreshold: 2,
            unhealthyThreshold: 2,
          },
          tags: { ...args.tags, Role: role },
        },
        child,
      );
    this.edgeTargets = targetGroup('edges', SERVICE_PORT, '/healthz', args.algorithm);
    this.grafanaTargets = targetGroup('grafana', PORTS.grafana, '/api/health', 'round_robin');
    this.prometheusTargets = targetGroup('prometheus', PORTS.prometheus, '/-/ready', 'round_robin');
    const listener = (role: string, port: number, targets: aws.lb.TargetGroup) =>
      new aws.lb.Listener(
        `${name}-${role}`,
        { loadBalancerArn: this.alb.arn, port, protocol: 'HTTP', defaultActions: [{ type: 'forward', targetGroupArn: targets.arn }], tags: args.tags },
        child,
      );
    listener('cdn', args.listenerPort, this.edgeTargets);
    listener('grafana', PORTS.grafana, this.grafanaTargets);
    listener('prometheus', PORTS.prometheus, this.prometheusTargets);
    this.dnsName = this.alb.dnsName;
    this.registerOutputs({ dnsName: this.dnsName });
  }
}
