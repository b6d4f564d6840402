import { readTrace } from './src/sim/trace.ts';
import { runJob } from './src/sim/replay.ts';
const t0 = performance.now();
const trace = await readTrace('/work/shared/traces/scarab_recs.csv');
console.log('parse', (trace.length / (performance.now() - t0) / 1000).toFixed(2), 'M/s');
const P = (process.env.P ?? 'lru').split(',');
for (let r = 0; r < 3; r++) for (const p of P) for (const cap of [258, 2583, 25836]) {
  const c = runJob(trace, { id: 0, policy: p, capacity: cap, objectMode: false });
  console.log(r, p, cap, ((c.requests - c.hits) / c.requests).toFixed(4), (c.requests / c.elapsedMs / 1000).toFixed(2), 'M/s');
}
