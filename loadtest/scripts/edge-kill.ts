// Client errors when an edge dies under load, per balancing algorithm (loadtest/src/edge-kill.ts):
//   npx tsx loadtest/scripts/edge-kill.ts [--connections 50] [--amount 30000] [--kill-after 10000] [--signal SIGKILL|SIGTERM] [algorithm ...]
// Each algorithm gets a fresh lab; prints one line per algorithm and exits 1 if any client saw an error.
import { parseArgs } from 'node:util';
import { ALGORITHM_NAMES, isAlgorithmName } from '@cdn-lab/load-balancer/algorithms/registry';
import { edgeKillUnderLoad } from '../src/edge-kill.ts';
import { positiveIntFlag } from './flags.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    connections: { type: 'string', default: '50' },
    amount: { type: 'string', default: '30000' },
    'kill-after': { type: 'string', default: '10000' },
    signal: { type: 'string', default: 'SIGKILL' },
  },
});
const connections = positiveIntFlag('connections', values.connections);
const amount = positiveIntFlag('amount', values.amount);
const killAfter = positiveIntFlag('kill-after', values['kill-after']);
if (killAfter >= amount) {
  process.stderr.write(`--kill-after (${killAfter}) must be below --amount (${amount})\n`);
  process.exit(2);
}
const signal = values.signal;
if (signal !== 'SIGKILL' && signal !== 'SIGTERM') {
  process.stderr.write(`--signal must be SIGKILL or SIGTERM, got "${signal}"\n`);
  process.exit(2);
}
const unknown = positionals.filter((name) => !isAlgorithmName(name));
if (unknown.length > 0) {
  process.stderr.write(`unknown algorithm(s) ${unknown.join(', ')}; valid algorithms: ${ALGORITHM_NAMES.join(', ')}\n`);
  process.exit(2);
}
const algorithms = positionals.length > 0 ? positionals.filter(isAlgorithmName) : ALGORITHM_NAMES;

let failed = false;
for (const algorithm of algorithms) {
  const r = await edgeKillUnderLoad({ algorithm, connections, amount, killAfter, signal });
  failed ||= r.non2xx + r.errors > 0;
  process.stdout.write(
    `${algorithm.padEnd(18)} ${signal} ${r.victim} after ${r.killedAt} responses: ${r.responses} responses, ${r.non2xx} non-2xx, ${r.errors} connection errors\n`,
  );
}
process.exit(failed ? 1 : 0);
