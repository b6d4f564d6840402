// Name -> factory for every policy. An unknown name fails and lists the valid ones.
import { createLru } from './lru.ts';
import type { CachePolicy, PolicyFactory, PolicyOptions } from './types.ts';

export const POLICIES = {
  lru: createLru,
} satisfies Record<string, PolicyFactory>;

export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];

export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICIES, name);
}

export function createPolicy<K, V>(name: string, options: PolicyOptions<K, V>): CachePolicy<K, V> {
  if (!isPolicyName(name)) {
    throw new TypeError(`unknown cache policy "${name}"; valid policies: ${POLICY_NAMES.join(', ')}`);
  }
  if (!Number.isInteger(options.capacityBytes) || options.capacityBytes <= 0) {
    throw new TypeError(`capacityBytes must be a positive integer, got ${options.capacityBytes}`);
  }
  if (options.maxObjects !== undefined && (!Number.isInteger(options.maxObjects) || options.maxObjects <= 0)) {
    throw new TypeError(`maxObjects must be a positive integer, got ${options.maxObjects}`);
  }
  return POLICIES[name](options);
}
