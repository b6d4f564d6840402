import { readTrace } from './src/sim/trace.ts';
for (let r = 0; r < 5; r++) {
  const c0 = process.cpuUsage(); const t0 = performance.now();
  const trace = await readTrace('/work/shared/traces/scarab_recs.csv');
  const u = process.cpuUsage(c0);
  console.log('parse', (trace.length / (performance.now() - t0) / 1000).toFixed(2), 'M/s wall', (trace.length / ((u.user + u.system) / 1000)/1000).toFixed(2), 'cpu');
}
