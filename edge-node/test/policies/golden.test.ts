// Golden tests: every policy's exact hit count on a committed seeded trace (fixtures/golden-trace.csv:
// 20,000 requests, Zipf popularity, heavy-tailed sizes, scans, shifts, one-hit wonders) at three
// byte capacities and three object capacities. Any change in a policy's decisions shows up here;
// after an intended change, regenerate with UPDATE_GOLDEN=1 npx ava edge-node/test/policies.
// LRU, FIFO and CLOCK are also checked against naive reference implementations written here.
import { readFileSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { createPolicy, POLICY_NAMES } from '../../src/policies/registry.ts';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const GOLDEN_FILE = new URL('golden-hits.json', FIXTURES);
const POLICIES = [...POLICY_NAMES, 'second-hit+lru', 'second-hit+s3fifo'];

const lines = readFileSync(new URL('golden-trace.csv', FIXTURES), 'utf8').trim().split('\n').slice(1);
const keys = lines.map((line) => Number(line.split(',')[1]));
const sizes = lines.map((line) => Number(line.split(',')[2]));
const uniqueSizes = new Map(keys.map((key, i) => [key, sizes[i]!]));
const uniqueBytes = [...uniqueSizes.values()].reduce((a, b) => a + b, 0);
const universe = Math.max(...keys) + 1;

interface Case {
  label: string;
  capacity: number;
  unit: boolean;
}
const CASES: Case[] = [0.01, 0.05, 0.2].flatMap((fraction) => [
  { label: `bytes:${fraction}`, capacity: Math.floor(uniqueBytes * fraction), unit: false },
  { label: `objects:${fraction}`, capacity: Math.floor(uniqueSizes.size * fraction), unit: true },
]);

function hits(policy: string, c: Case, dense: boolean): number {
  if (dense) {
    const cache = createPolicy<number, undefined>(policy, { capacityBytes: c.capacity, keyUniverse: universe });
    let n = 0;
    for (let i = 0; i < keys.length; i++) if (cache.access!(keys[i]!, c.unit ? 1 : sizes[i]!)) n++;
    return n;
  }
  // General keys (a hash map index), the way the edge uses a policy: get, and set on a miss. The
  // keys stay numbers so that W-TinyLFU's sketch hashes them exactly as in the dense case.
  const cache = createPolicy<number, number>(policy, { capacityBytes: c.capacity });
  let n = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (cache.get(key) !== undefined) n++;
    else cache.set(key, i, c.unit ? 1 : sizes[i]!);
  }
  return n;
}

const computed: Record<string, Record<string, number>> = {};
for (const policy of POLICIES) computed[policy] = Object.fromEntries(CASES.map((c) => [c.label, hits(policy, c, true)]));
if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN_FILE, `${JSON.stringify(computed, null, 2)}\n`);
const golden = JSON.parse(readFileSync(GOLDEN_FILE, 'utf8')) as Record<string, Record<string, number>>;

for (const policy of POLICIES) {
  test(`${policy}: exact hit counts on the golden trace, through access() on dense keys and get/set on map keys`, (t) => {
    t.truthy(golden[policy], `no golden numbers for ${policy}; run with UPDATE_GOLDEN=1`);
    for (const c of CASES) {
      t.is(computed[policy]![c.label], golden[policy]![c.label], `${c.label} (dense keys)`);
      t.is(hits(policy, c, false), golden[policy]![c.label]!, `${c.label} (map keys, get/set)`);
    }
  });
}

/** Naive references: a plain array as the queue, front = next victim. */
function referenceHits(kind: 'lru' | 'fifo' | 'clock', c: Case): number {
  const queue: number[] = [];
  const bit = new Map<number, number>();
  const weight = new Map<number, number>();
  let used = 0;
  let n = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const size = c.unit ? 1 : sizes[i]!;
    const at = queue.indexOf(key);
    if (at >= 0) {
      n++;
      if (kind === 'lru') queue.push(...queue.splice(at, 1));
      if (kind === 'clock') bit.set(key, 1);
      continue;
    }
    if (size > c.capacity) continue;
    while (used + size > c.capacity) {
      const victim = queue.shift()!;
      if (kind === 'clock' && bit.get(victim) === 1) {
        bit.set(victim, 0);
        queue.push(victim);
        continue;
      }
      used -= weight.get(victim)!;
    }
    queue.push(key);
    bit.set(key, 0);
    weight.set(key, size);
    used += size;
  }
  return n;
}

for (const kind of ['lru', 'fifo', 'clock'] as const) {
  test(`${kind} agrees with a naive reference implementation`, (t) => {
    for (const c of CASES) t.is(golden[kind]![c.label], referenceHits(kind, c), c.label);
  });
}

test('the golden numbers differ between policies (the trace separates them)', (t) => {
  const at20 = new Set(POLICY_NAMES.map((p) => golden[p]!['objects:0.2']));
  t.true(at20.size >= 5);
});
