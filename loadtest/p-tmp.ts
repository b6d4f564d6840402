import { readFileSync } from 'node:fs';
import { TraceParser } from './src/sim/trace.ts';
const buf = readFileSync('/work/shared/traces/scarab_recs.csv');
for (let r = 0; r < 3; r++) {
  const p = new TraceParser('x');
  const t0 = performance.now(); const times: string[] = [];
  for (let off = 0; off < buf.length; off += 1 << 20) { const c0 = performance.now(); p.push(buf.subarray(off, Math.min(buf.length, off + (1 << 20)))); times.push((performance.now() - c0).toFixed(0)); }
  const tr = p.finish('x');
  console.log('parse', (tr.length / (performance.now() - t0) / 1000).toFixed(2), 'M/s', times.join(' '));
}
