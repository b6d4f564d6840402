// Pure pieces of the AWS stack: subnet CIDRs, how services address each other through Cloud Map,
// and how the topology's balancing algorithm maps onto the ALB's.
import { ConfigError } from '@cdn-lab/service-kit';
import type { BalancerAlgorithm } from '../topology.ts';
import { SERVICE_PORT } from '../components/stack-config.ts';

/** The ALB's algorithms for the lab's; the others have no ALB equivalent. */
export const ALB_ALGORITHMS: Partial<Record<BalancerAlgorithm, 'round_robin' | 'least_outstanding_requests'>> = {
  'round-robin': 'round_robin',
  'least-connections': 'least_outstanding_requests',
};

export function albAlgorithm(algorithm: BalancerAlgorithm): 'round_robin' | 'least_outstanding_requests' {
  const mapped = ALB_ALGORITHMS[algorithm];
  if (!mapped) {
    throw new ConfigError('stack configuration', [
      `cdn-lab:topology.balancer.algorithm: the AWS Application Load Balancer has no "${algorithm}"; use one of ${Object.keys(ALB_ALGORITHMS).join(', ')}`,
    ]);
  }
  return mapped;
}

/** The `index`-th subnet of `vpcCidr` with `newBits` more prefix bits (10.42.0.0/16, 1, 4 → 10.42.16.0/20). */
export function subnetCidr(vpcCidr: string, index: number, newBits: number): string {
  const [address, prefixText] = vpcCidr.split('/');
  const prefix = Number(prefixText);
  const octets = address!.split('.').map(Number);
  if (octets.length !== 4 || octets.some((o) => !Number.isInteger(o) || o < 0 || o > 255) || !(prefix >= 0 && prefix <= 32)) {
    throw new TypeError(`not an IPv4 CIDR: ${vpcCidr}`);
  }
  const size = prefix + newBits;
  if (size > 28) throw new TypeError(`${vpcCidr} split by ${newBits} bits gives /${size}; AWS subnets are /16 to /28`);
  if (index < 0 || index >= 2 ** newBits) throw new TypeError(`subnet index ${index} out of range for ${newBits} new bits`);
  const base = octets.reduce((acc, o) => acc * 256 + o, 0);
  const network = base - (base % 2 ** (32 - prefix));
  const start = network + index * 2 ** (32 - size);
  const parts = [24, 16, 8, 0].map((shift) => Math.floor(start / 2 ** shift) % 256);
  return `${parts.join('.')}/${size}`;
}

/** Cloud Map private DNS namespace of a stack: services are `<id>.<namespace>`. */
export const namespaceOf = (stack: string) => `${stack}.cdn-lab.internal`;

export const awsHostOf = (namespace: string) => (id: string) => `${id}.${namespace}`;
export const awsUrlOf = (namespace: string) => (id: string) => `http://${id}.${namespace}:${SERVICE_PORT}`;
