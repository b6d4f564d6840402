// Failover: killing the edge that carries a URL's traffic, in the middle of a bounded load through
// the balancer, must cost the clients nothing, under every balancing algorithm (real processes on
// loopback, a real SIGKILL, and a SIGTERM drain; the kill is triggered by the response count, not a timer).
import test from 'ava';
import { ALGORITHM_NAMES } from '@cdn-lab/load-balancer/algorithms/registry';
import { edgeKillUnderLoad } from '../src/edge-kill.ts';

for (const algorithm of ALGORITHM_NAMES) {
  test.serial(`${algorithm}: an edge killed under load costs 0 client errors`, async (t) => {
    const result = await edgeKillUnderLoad({ algorithm, connections: 50, amount: 3000, killAfter: 500 });
    t.log(JSON.stringify(result));
    t.is(result.responses, 3000, 'every request got a response');
    t.is(result.non2xx, 0, 'no client got an error status');
    t.is(result.errors, 0, 'no client connection failed');
  });
}

test.serial('consistent-hash: an edge shut down gracefully (SIGTERM) under load costs 0 client errors', async (t) => {
  const result = await edgeKillUnderLoad({ algorithm: 'consistent-hash', connections: 50, amount: 3000, killAfter: 500, signal: 'SIGTERM' });
  t.log(JSON.stringify(result));
  t.is(result.responses, 3000, 'every request got a response');
  t.is(result.non2xx, 0, 'no client got an error status');
  t.is(result.errors, 0, 'no client connection failed');
});
