// One conformance suite, run against every registered policy (and the second-hit filter in front
// of two of them), with general keys and with dense integer keys: never over capacity, get after
// set, delete, replacement, oversize refusal, and statistics that add up.
import test from 'ava';
import { mulberry32 } from '@cdn-lab/service-kit';
import { createPolicy, POLICY_NAMES } from '../../src/policies/registry.ts';
import { REMOVAL_REASONS, type CachePolicy, type RemovalReason } from '../../src/policies/types.ts';

const FILTERED = ['second-hit+lru', 'second-hit+sieve'];
const ALL = [...POLICY_NAMES, ...FILTERED];

/** Deterministic pseudo-random numbers so failures reproduce. */
const rng = mulberry32;

interface Removal {
  key: number;
  value: string;
  size: number;
  reason: RemovalReason;
}

function make(name: string, capacityBytes: number, dense: boolean, maxObjects?: number) {
  const removals: Removal[] = [];
  const policy = createPolicy<number, string>(name, {
    capacityBytes,
    ...(maxObjects ? { maxObjects } : {}),
    ...(dense ? { keyUniverse: 1000 } : {}),
    onRemove: (key, value, size, reason) => removals.push({ key, value, size, reason }),
  });
  return { policy, removals };
}

/** Sum of sizes and number of the entries `keys()` lists, with sizes tracked by the test. */
function resident(policy: CachePolicy<number, string>, sizes: Map<number, number>) {
  let bytes = 0;
  let count = 0;
  for (const key of policy.keys()) {
    bytes += sizes.get(key)!;
    count++;
  }
  return { bytes, count };
}

for (const name of ALL) {
  for (const dense of [false, true]) {
    const label = `${name}${dense ? ' (dense keys)' : ''}`;

    test(`${label}: random workload never exceeds capacity and the statistics add up`, (t) => {
      const capacity = 5_000;
      const maxObjects = 40;
      const { policy, removals } = make(name, capacity, dense, maxObjects);
      const random = rng(name.length * 7919 + (dense ? 1 : 0));
      const sizes = new Map<number, number>();
      const sizeOf = (key: number) => 1 + ((key * 2654435761) % 400);
      let gets = 0;
      let accesses = 0;
      let sets = 0;
      for (let i = 0; i < 4_000; i++) {
        const key = Math.floor(Math.pow(random(), 2) * 300);
        const op = random();
        if (op < 0.45) {
          gets++;
          const value = policy.get(key);
          if (value !== undefined) t.is(value, `v${key}`, 'get returns what set stored');
        } else if (op < 0.75) {
          sets++;
          sizes.set(key, sizeOf(key));
          policy.set(key, `v${key}`, sizeOf(key));
        } else if (op < 0.95) {
          accesses++;
          sizes.set(key, sizeOf(key));
          policy.access!(key, sizeOf(key));
        } else {
          policy.delete(key, random() < 0.5 ? 'delete' : 'expire');
        }
        if (policy.bytes > capacity || policy.count > maxObjects) {
          t.fail(`over capacity after op ${i}: ${policy.bytes} bytes, ${policy.count} objects`);
          return;
        }
      }
      const { stats } = policy;
      t.is(stats.requests, gets + accesses);
      t.is(stats.hits + stats.misses, stats.requests);
      const removed = REMOVAL_REASONS.reduce((sum, reason) => sum + stats.removals[reason], 0);
      t.is(stats.inserts - removed, policy.count, 'inserts minus removals is what is held');
      t.is(removals.length, removed, 'onRemove is called once per removal');
      for (const reason of REMOVAL_REASONS) t.is(removals.filter((r) => r.reason === reason).length, stats.removals[reason], reason);
      t.true(stats.removals.evict > 0, 'the workload forced evictions');
      t.true(stats.hits > 0);
      t.true(stats.inserts + stats.rejected <= sets + stats.misses);
      t.deepEqual(resident(policy, sizes), { bytes: policy.bytes, count: policy.count }, 'keys() matches bytes and count');
    });

    test(`${label}: get after set, peek and has without side effects, delete`, (t) => {
      const { policy, removals } = make(name, 1_000, dense);
      // The second-hit filter admits on the second set.
      if (!policy.set(1, 'one', 10)) t.true(policy.set(1, 'one', 10));
      t.true(policy.has(1));
      t.is(policy.peek(1), 'one');
      t.is(policy.stats.requests, 0, 'peek and has are not requests');
      t.is(policy.get(1), 'one');
      t.is(policy.stats.hits, 1);
      t.is(policy.stats.hitBytes, 10);
      t.is(policy.bytes, 10);
      t.is(policy.count, 1);
      t.is(policy.get(2), undefined);
      t.is(policy.stats.misses, 1);
      t.true(policy.delete(1));
      t.false(policy.delete(1));
      t.false(policy.has(1));
      t.is(policy.bytes, 0);
      t.is(policy.count, 0);
      t.deepEqual(removals, [{ key: 1, value: 'one', size: 10, reason: 'delete' }]);
    });

    test(`${label}: replacing an entry reports 'replace' and updates its size`, (t) => {
      const { policy, removals } = make(name, 1_000, dense);
      if (!policy.set(3, 'a', 100)) policy.set(3, 'a', 100);
      t.true(policy.set(3, 'b', 40));
      t.is(policy.get(3), 'b');
      t.is(policy.bytes, 40);
      t.is(policy.count, 1);
      t.deepEqual(removals, [{ key: 3, value: 'a', size: 100, reason: 'replace' }]);
    });

    test(`${label}: an object larger than the cache is never admitted`, (t) => {
      const { policy } = make(name, 100, dense);
      for (let i = 0; i < 2; i++) t.false(policy.set(5, 'big', 101));
      for (let i = 0; i < 2; i++) t.false(policy.access!(6, 500));
      t.false(policy.has(5));
      t.false(policy.has(6));
      t.is(policy.bytes, 0);
      t.true(policy.stats.rejected >= 4);
    });

    test(`${label}: object capacity holds and zero-size entries count as objects`, (t) => {
      const { policy } = make(name, 1_000_000, dense, 5);
      // Each key twice in a row, so the second-hit filter admits it too.
      for (let key = 0; key < 20; key++) for (let round = 0; round < 2; round++) policy.set(key, `v${key}`, key % 3 === 0 ? 0 : 7);
      t.true(policy.count <= 5);
      t.true(policy.count > 0);
      t.true(policy.bytes <= 5 * 7);
    });

    test(`${label}: only zero-size entries under an object cap: evictions still make room`, (t) => {
      const { policy } = make(name, 100, dense, 3);
      for (let key = 0; key < 30; key++) for (let round = 0; round < 2; round++) policy.set(key, `v${key}`, 0);
      t.true(policy.count <= 3);
      t.true(policy.count > 0);
      t.is(policy.bytes, 0);
    });

    test(`${label}: clear empties the cache and reports deletes`, (t) => {
      const { policy, removals } = make(name, 10_000, dense);
      for (let round = 0; round < 2; round++) for (let key = 0; key < 10; key++) policy.set(key, `v${key}`, 10);
      const held = policy.count;
      t.true(held > 0);
      policy.clear();
      t.is(policy.count, 0);
      t.is(policy.bytes, 0);
      t.deepEqual([...policy.keys()], []);
      t.is(removals.filter((r) => r.reason === 'delete').length, held);
    });

    test(`${label}: access() counts like get() then set() on a miss`, (t) => {
      const a = make(name, 2_000, dense).policy;
      const b = make(name, 2_000, dense).policy;
      const random = rng(99);
      let accessHits = 0;
      let getSetHits = 0;
      for (let i = 0; i < 3_000; i++) {
        const key = Math.floor(Math.pow(random(), 3) * 200);
        const size = 1 + (key % 50);
        if (a.access!(key, size)) accessHits++;
        const held = b.has(key);
        b.get(key);
        if (held) getSetHits++;
        else b.set(key, 'x', size);
      }
      t.true(accessHits > 0);
      t.is(accessHits, getSetHits);
      t.deepEqual(a.stats, b.stats);
    });
  }
}

test('an unknown policy name fails and lists the valid ones', (t) => {
  const error = t.throws(() => createPolicy('nope', { capacityBytes: 10 }));
  t.regex(error.message, /unknown cache policy "nope".*lru.*sieve/);
  t.throws(() => createPolicy('lru', { capacityBytes: 0 }), { message: /capacityBytes/ });
  t.throws(() => createPolicy('fifo', { capacityBytes: 10, maxObjects: 1.5 }), { message: /maxObjects/ });
});

test('a bad entry size is a TypeError naming the size', (t) => {
  for (const name of ALL) {
    const policy = createPolicy<string, string>(name, { capacityBytes: 100 });
    t.throws(() => policy.set('k', 'v', -1), { instanceOf: TypeError, message: /-1/ }, name);
    t.throws(() => policy.set('k', 'v', 1.5), { instanceOf: TypeError, message: /1\.5/ }, name);
  }
});

test('dense-key policies refuse keys outside the universe', (t) => {
  const policy = createPolicy<number, string>('sieve', { capacityBytes: 100, keyUniverse: 10 });
  t.throws(() => policy.get(10), { instanceOf: TypeError, message: /\[0, 10\)/ });
  t.throws(() => policy.set(-1, 'v', 1), { instanceOf: TypeError });
});
