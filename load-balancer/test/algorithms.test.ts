import test from 'ava';
import { boundedLoadCapacity, createBoundedLoad } from '../src/algorithms/bounded-load.ts';
import { HashRing } from '@cdn-lab/service-kit';
import { createConsistentHash } from '../src/algorithms/consistent-hash.ts';
import { createLeastConnections } from '../src/algorithms/least-connections.ts';
import { mulberry32 } from '@cdn-lab/service-kit';
import { createPowerOfTwo } from '../src/algorithms/power-of-two.ts';
import { ALGORITHM_NAMES, createAlgorithm } from '../src/algorithms/registry.ts';
import { createRoundRobin } from '../src/algorithms/round-robin.ts';
import { DEFAULT_ALGORITHM_OPTIONS, type Backend } from '../src/algorithms/types.ts';

const options = DEFAULT_ALGORITHM_OPTIONS;

function fleet(size: number, inFlight: number[] = []): Backend[] {
  return Array.from({ length: size }, (_, i) => ({ id: `edge-${i}`, url: `http://127.0.0.1:${4000 + i}`, healthy: true, inFlight: inFlight[i] ?? 0 }));
}

const keys = (count: number) => Array.from({ length: count }, (_, i) => `/obj/${i}?v=${i % 3}`);

test('round robin hands out backends in list order and skips unhealthy ones', (t) => {
  const backends = fleet(3);
  const rr = createRoundRobin(options);
  t.deepEqual(Array.from({ length: 6 }, () => rr.pick({ key: '/' }, backends)?.id), ['edge-0', 'edge-1', 'edge-2', 'edge-0', 'edge-1', 'edge-2']);
  (backends[1] as Backend).healthy = false;
  t.deepEqual(Array.from({ length: 4 }, () => rr.pick({ key: '/' }, backends)?.id), ['edge-0', 'edge-2', 'edge-0', 'edge-2']);
  for (const backend of backends) backend.healthy = false;
  t.is(rr.pick({ key: '/' }, backends), undefined);
});

test('least connections picks the backend with the fewest requests in flight', (t) => {
  const lc = createLeastConnections(options);
  t.is(lc.pick({ key: '/' }, fleet(3, [3, 1, 2]))?.id, 'edge-1');
  const backends = fleet(3, [3, 1, 0]);
  (backends[2] as Backend).healthy = false;
  t.is(lc.pick({ key: '/' }, backends)?.id, 'edge-1', 'an unhealthy backend is skipped even when idle');
  // Ties rotate instead of always falling on the first backend.
  const idle = fleet(3);
  t.deepEqual(Array.from({ length: 3 }, () => lc.pick({ key: '/' }, idle)?.id).sort(), ['edge-0', 'edge-1', 'edge-2']);
});

test('power of two choices is deterministic for a seed and differs across seeds', (t) => {
  const backends = fleet(8);
  const sequence = (seed: number) => {
    const p2c = createPowerOfTwo({ ...options, seed });
    return Array.from({ length: 200 }, () => p2c.pick({ key: '/' }, backends)?.id).join();
  };
  t.is(sequence(7), sequence(7));
  t.not(sequence(7), sequence(8));
});

test('power of two choices prefers the less loaded of its two samples', (t) => {
  const p2c = createPowerOfTwo(options);
  // Two backends: both are always sampled, so the idle one always wins.
  const pair = fleet(2, [5, 0]);
  t.true(Array.from({ length: 100 }, () => p2c.pick({ key: '/' }, pair)?.id).every((id) => id === 'edge-1'));
  // Four backends: the busiest never wins a comparison, the idlest wins whenever sampled (p = 1/2).
  const four = fleet(4, [0, 5, 6, 9]);
  const counts = new Map<string, number>();
  for (let i = 0; i < 2000; i++) {
    const id = p2c.pick({ key: '/' }, four)?.id as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  t.is(counts.get('edge-3'), undefined);
  const idleShare = (counts.get('edge-0') ?? 0) / 2000;
  t.true(idleShare > 0.42 && idleShare < 0.58, `idle backend share ${idleShare}`);
});

test('mulberry32 yields floats in [0, 1)', (t) => {
  const random = mulberry32(42);
  const values = Array.from({ length: 1000 }, random);
  t.true(values.every((v) => v >= 0 && v < 1));
  t.true(new Set(values).size > 990);
});

test('consistent hash sends the same key to the same backend, across instances', (t) => {
  const backends = fleet(4);
  const a = createConsistentHash(options);
  const b = createConsistentHash(options);
  for (const key of keys(500)) {
    const first = a.pick({ key }, backends)?.id;
    t.is(a.pick({ key }, backends)?.id, first);
    t.is(b.pick({ key }, backends)?.id, first);
  }
});

test('HashRing: removing one of N nodes moves only its keys, about 1/N of them', (t) => {
  const nodes = Array.from({ length: 5 }, (_, i) => `edge-${i}`);
  const ring = new HashRing(nodes);
  const sample = keys(10_000);
  const before = sample.map((key) => ring.lookup(key));
  t.true(ring.remove('edge-2'));
  const after = sample.map((key) => ring.lookup(key));
  let moved = 0;
  sample.forEach((_, i) => {
    if (before[i] !== after[i]) {
      moved++;
      // Only the removed node's keys move.
      if (before[i] !== 'edge-2') t.fail(`key ${i} moved from ${before[i]} to ${after[i]}`);
    }
  });
  const fraction = moved / sample.length;
  t.true(fraction > 0.12 && fraction < 0.28, `moved ${fraction}, expected about 0.2`);
  t.false(after.includes('edge-2'));
  // Adding it back restores the original placement exactly.
  ring.add('edge-2');
  t.deepEqual(sample.map((key) => ring.lookup(key)), before);
});

test('HashRing: adding a node takes keys only for itself', (t) => {
  const ring = new HashRing(['a', 'b', 'c']);
  const sample = keys(10_000);
  const before = sample.map((key) => ring.lookup(key));
  ring.add('d');
  const after = sample.map((key) => ring.lookup(key));
  const moved = sample.filter((_, i) => before[i] !== after[i]);
  t.true(sample.every((_, i) => before[i] === after[i] || after[i] === 'd'));
  t.true(moved.length / sample.length > 0.15 && moved.length / sample.length < 0.35);
});

test('HashRing: walk and lookupN give distinct nodes in ring order, owner first', (t) => {
  const ring = new HashRing(['a', 'b', 'c', 'd']);
  for (const key of keys(50)) {
    const walked = [...ring.walk(key)];
    t.is(walked.length, 4);
    t.is(new Set(walked).size, 4);
    t.is(walked[0], ring.lookup(key));
    t.deepEqual(ring.lookupN(key, 2), walked.slice(0, 2));
    t.is(ring.find(key, (node) => node !== walked[0]), walked[1]);
  }
  t.is(new HashRing().lookup('x'), undefined);
  t.deepEqual(new HashRing().lookupN('x', 3), []);
  t.throws(() => new HashRing([], { virtualNodes: 0 }), { instanceOf: TypeError });
});

test('HashRing placement does not depend on insertion order', (t) => {
  const a = new HashRing(['x', 'y', 'z']);
  const b = new HashRing(['z', 'x', 'y']);
  t.true(keys(1000).every((key) => a.lookup(key) === b.lookup(key)));
});

test('consistent hash: an unhealthy backend loses only its own keys, and gets them back', (t) => {
  const backends = fleet(4);
  const ch = createConsistentHash(options);
  const sample = keys(2000);
  const before = sample.map((key) => ch.pick({ key }, backends)?.id);
  (backends[1] as Backend).healthy = false;
  const during = sample.map((key) => ch.pick({ key }, backends)?.id);
  t.false(during.includes('edge-1'));
  t.true(sample.every((_, i) => before[i] === 'edge-1' || during[i] === before[i]));
  // Its keys spread over the others (next on the ring), not all onto one.
  const inheritors = new Set(during.filter((_, i) => before[i] === 'edge-1'));
  t.true(inheritors.size >= 2);
  (backends[1] as Backend).healthy = true;
  t.deepEqual(sample.map((key) => ch.pick({ key }, backends)?.id), before);
});

test('bounded load never places a request on a backend over ceil((1 + epsilon) * average)', (t) => {
  const epsilon = 0.25;
  const random = mulberry32(3);
  const backends = fleet(5);
  const bl = createBoundedLoad({ ...options, epsilon });
  const ch = createConsistentHash(options);
  const active: Backend[] = [];
  let chMax = 0;
  for (let step = 0; step < 20_000; step++) {
    // Skewed keys: most requests ask for one hot object; departures keep the load moving.
    if (active.length > 0 && random() < 0.45) {
      const [done] = active.splice(Math.floor(random() * active.length), 1);
      (done as Backend).inFlight--;
      continue;
    }
    const key = random() < 0.6 ? '/obj/hot' : `/obj/${Math.floor(random() * 1000)}`;
    const capacity = boundedLoadCapacity(backends, epsilon);
    const chosen = bl.pick({ key }, backends) as Backend;
    chosen.inFlight++;
    active.push(chosen);
    if (chosen.inFlight > capacity) t.fail(`step ${step}: ${chosen.id} at ${chosen.inFlight} > capacity ${capacity}`);
    // What plain consistent hashing would have done with the same load.
    const owner = ch.pick({ key }, backends) as Backend;
    chMax = Math.max(chMax, (owner.inFlight + (owner === chosen ? 0 : 1)) / Math.max(1, capacity));
  }
  t.true(chMax > 1, 'plain consistent hashing exceeds the bound on this workload, so the check above is meaningful');
});

test('bounded load with no load in flight places keys exactly like consistent hashing', (t) => {
  const backends = fleet(3);
  const bl = createBoundedLoad(options);
  const ch = createConsistentHash(options);
  t.true(keys(1000).every((key) => bl.pick({ key }, backends) === ch.pick({ key }, backends)));
  t.throws(() => createBoundedLoad({ ...options, epsilon: 0 }), { instanceOf: TypeError });
});

test('every algorithm returns undefined when no backend is healthy and never picks an unhealthy one', (t) => {
  for (const name of ALGORITHM_NAMES) {
    const algorithm = createAlgorithm(name);
    t.is(algorithm.name, name);
    const backends = fleet(3);
    for (const backend of backends) backend.healthy = false;
    t.is(algorithm.pick({ key: '/a' }, backends), undefined, name);
    (backends[2] as Backend).healthy = true;
    for (const key of keys(30)) t.is(algorithm.pick({ key }, backends)?.id, 'edge-2', name);
  }
});

test('a retry (request.exclude) never gets a backend it already failed on; the hash algorithms give the key\'s next ring node', (t) => {
  const backends = fleet(4);
  for (const name of ALGORITHM_NAMES) {
    const algorithm = createAlgorithm(name);
    for (const key of keys(50)) {
      const first = algorithm.pick({ key }, backends) as Backend;
      const exclude = new Set([first.id]);
      const second = algorithm.pick({ key, exclude }, backends) as Backend;
      t.not(second.id, first.id, `${name} ${key}`);
      exclude.add(second.id);
      const third = algorithm.pick({ key, exclude }, backends) as Backend;
      t.false(exclude.has(third.id), `${name} ${key}`);
      t.is(algorithm.pick({ key, exclude: new Set(backends.map((b) => b.id)) }, backends), undefined, `${name}: all tried`);
      if (name === 'consistent-hash' || name === 'bounded-load') {
        const ring = new HashRing(backends.map((b) => b.id), { virtualNodes: options.virtualNodes });
        t.deepEqual([first.id, second.id, third.id], ring.lookupN(key, 3), `${name} ${key}: ring order`);
      }
    }
  }
});

test('the registry rejects an unknown name and lists the valid ones', (t) => {
  const error = t.throws(() => createAlgorithm('random-walk'), { instanceOf: TypeError });
  t.regex(error.message, /random-walk/);
  for (const name of ALGORITHM_NAMES) t.true(error.message.includes(name));
  t.deepEqual([...ALGORITHM_NAMES].sort(), ['bounded-load', 'consistent-hash', 'least-connections', 'power-of-two', 'round-robin']);
});
