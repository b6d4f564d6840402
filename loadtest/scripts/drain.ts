// What SIGTERM does to requests in flight through an edge: a fresh lab with one origin answering
// after --latency ms and one edge; --requests misses are sent to the edge at once, the edge gets
// SIGTERM --after ms later, and each request's outcome is reported with its time after the signal.
//   npx tsx loadtest/scripts/drain.ts [--requests 50] [--latency 5000] [--after 1000]
import http from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLab } from '@cdn-lab/infra/local/lab';
import { parseTopology } from '@cdn-lab/infra/topology';
import { positiveIntFlag } from './flags.ts';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '50' },
    latency: { type: 'string', default: '5000' },
    after: { type: 'string', default: '1000' },
  },
});
const requests = positiveIntFlag('requests', values.requests);
const latencyMs = positiveIntFlag('latency', values.latency);
const afterMs = positiveIntFlag('after', values.after);

const logDir = mkdtempSync(path.join(os.tmpdir(), 'cdn-lab-drain-'));
const lab = await startLab(
  parseTopology({ origin: { objects: 10_000, latencyMs, jitterMs: 0 }, edges: { count: 1, cacheBytes: '16MiB' } }),
  { logDir },
);
const edge = lab.services.find((s) => s.plan.role === 'edge')!;
const agent = new http.Agent({ keepAlive: true });
const outcomes = Array.from(
  { length: requests },
  (_, i) =>
    new Promise<{ outcome: string; at: number }>((resolve) => {
      http
        .get(`${edge.url}/obj/${i}`, { agent }, (res) => {
          res.resume();
          res.on('end', () => resolve({ outcome: String(res.statusCode), at: performance.now() }));
          res.on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: error.code ?? error.message, at: performance.now() }));
        })
        .on('error', (error: NodeJS.ErrnoException) => resolve({ outcome: error.code ?? error.message, at: performance.now() }));
    }),
);
await new Promise((resolve) => setTimeout(resolve, afterMs));
const signalled = performance.now();
process.kill(edge.pid, 'SIGTERM');
const exit = edge.exited.then((result) => ({ ...result, at: performance.now() }));
const results = await Promise.all(outcomes);
const exited = await exit;
agent.destroy();
await lab.stop();

const tally = new Map<string, number>();
for (const r of results) tally.set(r.outcome, (tally.get(r.outcome) ?? 0) + 1);
const last = Math.max(...results.map((r) => r.at)) - signalled;
const drainLines = readFileSync(path.join(logDir, `${edge.plan.id}.log`), 'utf8')
  .split('\n')
  .filter((line) => /shutting down|drain/.test(line))
  .map((line) => {
    const { msg, ms, graceMs } = JSON.parse(line) as { msg: string; ms?: number; graceMs?: number };
    return `${msg}${graceMs !== undefined ? ` (grace ${graceMs} ms)` : ''}${ms !== undefined ? ` (${ms} ms)` : ''}`;
  });
process.stdout.write(
  `${requests} misses in flight (origin latency ${latencyMs} ms), SIGTERM after ${afterMs} ms:\n` +
    `  outcomes: ${[...tally].map(([outcome, n]) => `${n} × ${outcome}`).join(', ')}\n` +
    `  last outcome ${(last / 1000).toFixed(2)} s after SIGTERM; edge exited (code ${exited.code}, signal ${exited.signal}) ${((exited.at - signalled) / 1000).toFixed(2)} s after SIGTERM\n` +
    `  edge log: ${drainLines.join('; ')}\n`,
);
process.exit(results.every((r) => r.outcome === '200') && exited.code === 0 ? 0 : 1);
