// What a hung origin costs clients of an edge: a fresh lab (one origin, one edge with
// UPSTREAM_TIMEOUT_MS --timeout), /short/1 cached with max-age=1 and stale-if-error, then the origin
// is frozen (SIGSTOP: it accepts connections and never answers) and --requests requests for the
// stale object, then one for an uncached object, are sent one after another; prints each one's
// status, Cache-Status detail and duration.
//   npx tsx loadtest/scripts/hung-origin.ts [--requests 8] [--timeout 2000]
import { parseArgs } from 'node:util';
import { startLab } from '@cdn-lab/infra/local/lab';
import { parseTopology } from '@cdn-lab/infra/topology';
import { positiveIntFlag } from './flags.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '8' }, timeout: { type: 'string', default: '2000' } } });
const requests = positiveIntFlag('requests', values.requests);
const timeoutMs = positiveIntFlag('timeout', values.timeout);

const lab = await startLab(
  parseTopology({ origin: { objects: 100, latencyMs: 0, jitterMs: 0, shortTtlS: 1, staleIfErrorS: 3600 }, edges: { count: 1, upstreamTimeoutMs: timeoutMs } }),
);
const origin = lab.services.find((s) => s.plan.role === 'origin')!;
const edgeUrl = lab.edgeUrls[0]!;
const timed = async (path: string) => {
  const started = performance.now();
  const response = await fetch(`${edgeUrl}${path}`);
  await response.arrayBuffer();
  const detail = /detail=([\w-]+)/.exec(response.headers.get('cache-status') ?? '')?.[1] ?? '-';
  return `${path} ${response.status} ${detail} ${Math.round(performance.now() - started)} ms`;
};
try {
  await timed('/short/1');
  await new Promise((resolve) => setTimeout(resolve, 2100)); // stale now (max-age=1)
  process.kill(origin.pid, 'SIGSTOP');
  const lines: string[] = [];
  for (let i = 0; i < requests; i++) lines.push(await timed('/short/1'));
  lines.push(await timed('/obj/99'));
  process.stdout.write(`origin frozen, UPSTREAM_TIMEOUT_MS=${timeoutMs}:\n${lines.map((line) => `  ${line}`).join('\n')}\n`);
} finally {
  process.kill(origin.pid, 'SIGCONT');
  await lab.stop();
}
