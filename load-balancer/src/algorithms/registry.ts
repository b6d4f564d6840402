// Name -> factory for every load-balancing algorithm (the values of LB_ALGORITHM).
// An unknown name fails and lists the valid ones.
import { createBoundedLoad } from './bounded-load.ts';
import { createConsistentHash } from './consistent-hash.ts';
import { createLeastConnections } from './least-connections.ts';
import { createPowerOfTwo } from './power-of-two.ts';
import { createRoundRobin } from './round-robin.ts';
import { DEFAULT_ALGORITHM_OPTIONS, type AlgorithmFactory, type AlgorithmOptions, type LoadBalancingAlgorithm } from './types.ts';

export const ALGORITHMS = {
  'round-robin': createRoundRobin,
  'least-connections': createLeastConnections,
  'power-of-two': createPowerOfTwo,
  'consistent-hash': createConsistentHash,
  'bounded-load': createBoundedLoad,
} satisfies Record<string, AlgorithmFactory>;

export type AlgorithmName = keyof typeof ALGORITHMS;
export const ALGORITHM_NAMES = Object.keys(ALGORITHMS) as [AlgorithmName, ...AlgorithmName[]];

export function isAlgorithmName(name: string): name is AlgorithmName {
  return Object.hasOwn(ALGORITHMS, name);
}

export function createAlgorithm(name: string, options: Partial<AlgorithmOptions> = {}): LoadBalancingAlgorithm {
  if (!isAlgorithmName(name)) {
    throw new TypeError(`unknown load-balancing algorithm "${name}"; valid algorithms: ${ALGORITHM_NAMES.join(', ')}`);
  }
  return ALGORITHMS[name]({ ...DEFAULT_ALGORITHM_OPTIONS, ...options });
}
