// Name -> factory for every policy. An unknown name fails and lists the valid ones.
// `second-hit+<name>` puts the second-hit admission filter in front of any policy.
import { createArc } from './arc.ts';
import { createClock } from './clock.ts';
import { createFifo } from './fifo.ts';
import { createLfu } from './lfu.ts';
import { createLru } from './lru.ts';
import { createS3Fifo } from './s3fifo.ts';
import { SecondHitFilter } from './second-hit.ts';
import { createSieve } from './sieve.ts';
import type { CachePolicy, PolicyFactory, PolicyOptions } from './types.ts';
import { createWTinyLfu } from './wtinylfu.ts';

export const POLICIES = {
  lru: createLru,
  fifo: createFifo,
  clock: createClock,
  lfu: createLfu,
  arc: createArc,
  sieve: createSieve,
  s3fifo: createS3Fifo,
  wtinylfu: createWTinyLfu,
} satisfies Record<string, PolicyFactory>;

export type PolicyName = keyof typeof POLICIES;
export const POLICY_NAMES = Object.keys(POLICIES) as PolicyName[];
export const SECOND_HIT_PREFIX = 'second-hit+';

export function isPolicyName(name: string): name is PolicyName {
  return Object.hasOwn(POLICIES, name);
}

/** Whether `createPolicy` accepts the name (a policy, optionally behind `second-hit+`). */
export function isValidPolicySpec(name: string): boolean {
  return isPolicyName(name.startsWith(SECOND_HIT_PREFIX) ? name.slice(SECOND_HIT_PREFIX.length) : name);
}

export function createPolicy<K, V>(name: string, options: PolicyOptions<K, V>): CachePolicy<K, V> {
  const filtered = name.startsWith(SECOND_HIT_PREFIX);
  const base = filtered ? name.slice(SECOND_HIT_PREFIX.length) : name;
  if (!isPolicyName(base)) {
    throw new TypeError(
      `unknown cache policy "${name}"; valid policies: ${POLICY_NAMES.join(', ')} (each also as ${SECOND_HIT_PREFIX}<policy>)`,
    );
  }
  if (!Number.isInteger(options.capacityBytes) || options.capacityBytes <= 0) {
    throw new TypeError(`capacityBytes must be a positive integer, got ${options.capacityBytes}`);
  }
  if (options.maxObjects !== undefined && (!Number.isInteger(options.maxObjects) || options.maxObjects <= 0)) {
    throw new TypeError(`maxObjects must be a positive integer, got ${options.maxObjects}`);
  }
  const policy = POLICIES[base](options);
  return filtered ? new SecondHitFilter(policy) : policy;
}
