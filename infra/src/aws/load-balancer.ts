// The Application Load Balancer in front of the edges (the algorithm from the topology, health
// checks on /healthz), plus two operator listeners for Grafana and Prometheus, which the security
// groups open to the configured CIDR only. The client listener answers the services' own paths
// (/metrics, /healthz, /_*) itself with 404: edges' metrics are for Prometheus, which scrapes them
// inside the VPC, and target health checks do not pass through listener rules.
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { RESERVED_PATH_PATTERNS } from '@cdn-lab/service-kit';
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

/** How long the ALB keeps an idle connection, client side and target side. */
export const ALB_IDLE_TIMEOUT_S = 60;
/**
 * Idle keep-alive of the edges behind the ALB: longer than the ALB's own, as AWS asks of targets,
 * so the ALB never reuses a connection the edge is closing (a 502 to the client).
 */
export const TARGET_KEEP_ALIVE_TIMEOUT_MS = (ALB_IDLE_TIMEOUT_S + 5) * 1000;

/** The ALB's own answer for a reserved path: the same error the edges and the lab's balancer give. */
export const INTERNAL_PATH_BODY = JSON.stringify({ error: 'internal_path', message: 'this path is reserved for the services\' own use and is not forwarded' });

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
        // The services behind keep idle connections longer (TARGET_KEEP_ALIVE_TIMEOUT_MS).
        idleTimeout: ALB_IDLE_TIMEOUT_S,
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
    const cdn = listener('cdn', args.listenerPort, this.edgeTargets);
    new aws.lb.ListenerRule(
      `${name}-cdn-internal-paths`,
      {
        listenerArn: cdn.arn,
        priority: 1,
        actions: [
          {
            type: 'fixed-response',
            fixedResponse: { statusCode: '404', contentType: 'application/json', messageBody: INTERNAL_PATH_BODY },
          },
        ],
        // An ALB matches paths literally (case-sensitive, undecoded); the edges refuse every other spelling.
        conditions: [{ pathPattern: { values: [...RESERVED_PATH_PATTERNS] } }],
        tags: args.tags,
      },
      child,
    );
    listener('grafana', PORTS.grafana, this.grafanaTargets);
    listener('prometheus', PORTS.prometheus, this.prometheusTargets);
    this.dnsName = this.alb.dnsName;
    this.registerOutputs({ dnsName: this.dnsName });
  }
}
