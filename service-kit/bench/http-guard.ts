// Cost of the request checks the edge and balancer add: hostProblem runs on every edge hit (fast
// path), isInternalPath on every balancer request and every edge request outside the fast path.
// Run: npx tsx service-kit/bench/http-guard.ts
import type { IncomingMessage } from 'node:http';
import { hostProblem, isInternalPath } from '../src/http-guard.ts';

// What wrk and autocannon send: Host first, a few more fields.
const req = {
  rawHeaders: ['Host', '127.0.0.1:8080', 'User-Agent', 'wrk', 'Accept', '*/*', 'Connection', 'keep-alive'],
  headers: { host: '127.0.0.1:8080' },
} as unknown as IncomingMessage;
const targets = ['/obj/123', '/short/77?size=4096', '/obj/4242'];

const time = (name: string, calls: number, run: () => unknown) => {
  let sink = 0;
  for (let i = 0; i < calls; i++) if (run()) sink++; // warm up
  for (let round = 0; round < 3; round++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) if (run()) sink++;
    console.log(`${name}: ${(Number(process.hrtime.bigint() - start) / calls).toFixed(1)} ns per call (${sink})`);
  }
};

let i = 0;
time('hostProblem, one valid Host among 4 fields', 5_000_000, () => hostProblem(req));
time('isInternalPath, plain catalogue paths', 5_000_000, () => isInternalPath(targets[i++ % targets.length] as string));
time('isInternalPath, a spelling that needs normalising (/obj/..%2Fmetrics)', 1_000_000, () => isInternalPath('/obj/..%2Fmetrics'));
