// Golden hit counts of the simulator's references (Belady's MIN, the infinite cache) on the same
// committed seeded trace as the policies' golden test (edge-node/test/policies/fixtures), at the
// same capacities. Regenerate after an intended change with UPDATE_GOLDEN=1.
import { readFileSync, writeFileSync } from 'node:fs';
import test from 'ava';
import { nextUses, replayBelady, replayInfinite } from '../../src/sim/belady.ts';
import { readTrace } from '../../src/sim/trace.ts';

const TRACE = new URL('../../../edge-node/test/policies/fixtures/golden-trace.csv', import.meta.url);
const GOLDEN = new URL('./fixtures/golden-references.json', import.meta.url);

test('belady and infinite: exact hit counts on the golden trace', async (t) => {
  const trace = await readTrace(TRACE.pathname);
  const next = nextUses(trace.keys);
  const computed: Record<string, number> = {};
  for (const fraction of [0.01, 0.05, 0.2]) {
    const bytes = Math.floor(trace.uniqueBytes * fraction);
    const objects = Math.floor(trace.uniqueObjects * fraction);
    computed[`belady bytes:${fraction}`] = replayBelady(trace.keys, trace.sizes, next, bytes, false).hits;
    computed[`belady objects:${fraction}`] = replayBelady(trace.keys, trace.sizes, next, objects, true).hits;
  }
  computed.infinite = replayInfinite(trace.keys, trace.sizes).hits;
  if (process.env.UPDATE_GOLDEN) writeFileSync(GOLDEN, `${JSON.stringify(computed, null, 2)}\n`);
  const golden = JSON.parse(readFileSync(GOLDEN, 'utf8')) as Record<string, number>;
  t.deepEqual(computed, golden);
  // The references bound every policy's golden numbers.
  const policies = JSON.parse(readFileSync(new URL('../../../edge-node/test/policies/fixtures/golden-hits.json', import.meta.url), 'utf8')) as Record<string, Record<string, number>>;
  for (const [policy, hits] of Object.entries(policies)) {
    for (const [label, n] of Object.entries(hits)) {
      if (label.startsWith('objects')) t.true(n <= golden[`belady ${label}`]!, `${policy} ${label} beats belady`);
      t.true(n <= golden.infinite!, `${policy} ${label} beats the infinite cache`);
    }
  }
});
