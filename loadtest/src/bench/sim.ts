// Simulator speed, on one core (no worker threads): (1) LRU replaying an in-memory trace, through
// the simulator's own replay loop; (2) the whole simulator from a CSV file, parsing included.
// Each figure is the best of several repetitions, in requests per second of wall time and of CPU
// time (the latter is what one core delivers even when other processes share the machine).
// Run: npx tsx loadtest/src/bench/sim.ts [trace.csv]   (default: ../shared/traces/scarab_recs.csv)
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPolicy } from '@cdn-lab/edge-node/policies/registry';
import { runJob, type TraceArrays } from '../sim/replay.ts';
import { runSimulation } from '../sim/simulate.ts';
import { readTrace } from '../sim/trace.ts';

const REPO = path.resolve(fileURLToPath(import.meta.url), '../../../..');
const file = process.argv[2] ?? path.resolve(REPO, '../shared/traces/scarab_recs.csv');
const REPETITIONS = Number(process.env.BENCH_REPETITIONS ?? 5);

interface Rate {
  wall: number;
  cpu: number;
}

/** Best requests/s over the repetitions, by wall clock and by this process's CPU time. */
async function best(requests: number, body: () => unknown): Promise<Rate> {
  let wall = 0;
  let cpu = 0;
  for (let i = 0; i < REPETITIONS; i++) {
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    await body();
    const wallS = (performance.now() - t0) / 1000;
    const used = process.cpuUsage(cpu0);
    const cpuS = (used.user + used.system) / 1e6;
    wall = Math.max(wall, requests / wallS);
    cpu = Math.max(cpu, requests / cpuS);
  }
  return { wall, cpu };
}

const m = (rate: number) => `${(rate / 1e6).toFixed(2)} M req/s`;
const show = (label: string, r: Rate) => console.log(`${label.padEnd(58)} ${m(r.wall).padStart(14)} wall  ${m(r.cpu).padStart(14)} cpu`);

const trace = await readTrace(file);
console.log(`${trace.name}: ${trace.length.toLocaleString('en-US')} requests, ${trace.uniqueObjects.toLocaleString('en-US')} objects; best of ${REPETITIONS}; node ${process.version}`);
const arrays: TraceArrays = { keys: trace.keys, sizes: trace.sizes, keyUniverse: trace.keyUniverse };
const capacities = [0.001, 0.01, 0.1].map((f) => Math.max(1, Math.floor(trace.uniqueBytes * f)));

for (const policy of (process.env.BENCH_POLICIES ?? 'lru').split(',')) {
  for (const capacity of capacities) {
    const job = { id: 0, policy, capacity, objectMode: false };
    show(`${policy} from memory, capacity ${capacity}`, await best(trace.length, () => runJob(arrays, job)));
  }
}

// The edge's LRU: general keys, so lru-cache (a Map per lookup) instead of the array index.
for (const capacity of capacities) {
  show(
    `lru via lru-cache (general keys), capacity ${capacity}`,
    await best(trace.length, () => {
      const lru = createPolicy<number, undefined>('lru', { capacityBytes: capacity });
      const { keys, sizes } = trace;
      for (let i = 0; i < keys.length; i++) lru.access!(keys[i]!, sizes[i]!);
    }),
  );
}

for (const capacity of ['0.01']) {
  const rate = await best(trace.length, () => runSimulation({ trace: file, policies: ['lru'], capacities: [capacity], workers: 0 }));
  show(`whole simulator from CSV (parse + lru @${capacity})`, rate);
}
const parse = await best(trace.length, () => readTrace(file));
show('CSV parse alone', parse);
