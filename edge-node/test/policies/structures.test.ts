// The helper structures under the policies: the ghost queue (FIFO of keys with lazy removal) and
// the TinyLFU frequency sketch (count-min + doorkeeper + aging).
import test from 'ava';
import { GhostQueue } from '../../src/policies/ghost-queue.ts';
import { FrequencySketch, hashKey } from '../../src/policies/sketch.ts';

test('ghost queue: FIFO order, removal anywhere, bytes kept, survives ring growth and compaction', (t) => {
  const ghost = new GhostQueue<number>();
  for (let i = 0; i < 1_000; i++) ghost.push(i, i % 7);
  for (let i = 0; i < 1_000; i += 2) t.is(ghost.take(i), i % 7);
  t.is(ghost.take(0), -1, 'already taken');
  t.is(ghost.size, 500);
  // Many more pushes and takes than live keys: the ring compacts instead of growing forever.
  for (let i = 1_000; i < 50_000; i++) {
    ghost.push(i, 1);
    ghost.take(i);
  }
  t.is(ghost.size, 500);
  // dropOldest always forgets the oldest key still present (odd keys, in push order).
  for (let oldest = 1; oldest < 1_000; oldest += 2) {
    t.true(ghost.has(oldest));
    ghost.dropOldest();
    t.false(ghost.has(oldest), `key ${oldest} should be the one dropped`);
  }
  t.is(ghost.size, 0);
  t.is(ghost.bytes, 0);
});

test('sketch: counts grow with requests, the doorkeeper absorbs the first one, aging halves', (t) => {
  const sketch = new FrequencySketch(1_024);
  const hot = hashKey('hot');
  const cold = hashKey('cold');
  t.is(sketch.frequency(hot), 0);
  sketch.increment(hot);
  t.is(sketch.frequency(hot), 1, 'first request: doorkeeper only');
  for (let i = 0; i < 9; i++) sketch.increment(hot);
  t.true(sketch.frequency(hot) >= 10);
  sketch.increment(cold);
  t.true(sketch.frequency(hot) > sketch.frequency(cold));
  for (let i = 0; i < 50; i++) sketch.increment(hot);
  t.is(sketch.frequency(hot), 16, 'counters saturate at 15, plus the doorkeeper');
  // Enough other requests to trigger aging (10 x width): the hot key's count halves.
  for (let i = 0; i < 10 * 1_024; i++) sketch.increment(hashKey(`filler-${i}`));
  const aged = sketch.frequency(hot);
  t.true(aged <= 8 && aged >= 6, `aged count ${aged}`);
});

test('hashKey: integers and strings spread, equal keys hash equally', (t) => {
  t.is(hashKey(42), hashKey(42));
  t.is(hashKey('/obj/1'), hashKey('/obj/1'));
  const hashes = new Set<number>();
  for (let i = 0; i < 10_000; i++) hashes.add(hashKey(i) & 0xffff);
  t.true(hashes.size > 8_000, 'low bits of consecutive integers are well spread');
});
