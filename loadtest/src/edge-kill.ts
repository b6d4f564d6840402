// Failover under load: a fresh local lab (one origin, two edges, the balancer), autocannon driving
// one URL through the balancer, and one edge killed with SIGKILL once a set number of responses
// came back (or, with `signal: 'SIGTERM'`, asked to shut down gracefully). Counts what the clients saw. The victim is the edge the balancer sends the URL to
// (for hash algorithms the key's owner, the worst case), so every algorithm loses the edge that is
// carrying traffic. Used by loadtest/test/edge-kill.test.ts and loadtest/scripts/edge-kill.ts.
import autocannon from 'autocannon';
import type { AlgorithmName } from '@cdn-lab/load-balancer/algorithms/registry';
import { startLab } from '@cdn-lab/infra/local/lab';
import { parseTopology } from '@cdn-lab/infra/topology';

export interface EdgeKillOptions {
  algorithm: AlgorithmName;
  /** Concurrent client connections (autocannon -c). */
  connections: number;
  /** Requests in all (autocannon --amount). */
  amount: number;
  /** The edge is killed when this many responses have come back. */
  killAfter: number;
  /** SIGKILL (default): the edge dies at once; SIGTERM: it drains (service-kit drainServer). */
  signal?: 'SIGKILL' | 'SIGTERM';
  path?: string;
}

export interface EdgeKillResult {
  algorithm: AlgorithmName;
  signal: 'SIGKILL' | 'SIGTERM';
  /** Responses received (any status). */
  responses: number;
  non2xx: number;
  /** Requests with no response at all (connection errors, timeouts). */
  errors: number;
  /** Responses that had come back when the edge was killed. */
  killedAt: number;
  victim: string;
}

export async function edgeKillUnderLoad(options: EdgeKillOptions): Promise<EdgeKillResult> {
  const path = options.path ?? '/obj/1';
  const signal = options.signal ?? 'SIGKILL';
  const lab = await startLab(
    parseTopology({
      origin: { objects: 100, latencyMs: 0, jitterMs: 0 },
      edges: { count: 2, cacheBytes: '1MiB' },
      balancer: { algorithm: options.algorithm },
    }),
  );
  try {
    // Warm the object, and learn which edge the balancer sends it to.
    const first = await fetch(`${lab.balancerUrl}${path}`);
    await first.arrayBuffer();
    const victim = first.headers.get('x-served-by') ?? '';
    const service = lab.services.find((s) => s.plan.id === victim);
    if (first.status !== 200 || service === undefined) throw new Error(`warm-up ${path}: status ${first.status}, served by "${victim}"`);

    let responses = 0;
    let killedAt = -1;
    const instance = autocannon({ url: `${lab.balancerUrl}${path}`, connections: options.connections, amount: options.amount, timeout: 30 });
    // autocannon passes (client, status, bytes, responseTime ms); its typings omit the client.
    (instance as unknown as NodeJS.EventEmitter).on('response', () => {
      responses++;
      if (killedAt < 0 && responses >= options.killAfter) {
        killedAt = responses;
        process.kill(service.pid, signal);
      }
    });
    const result = await instance;
    if (killedAt < 0) throw new Error(`only ${responses} responses: the edge was never killed (killAfter ${options.killAfter})`);
    return {
      algorithm: options.algorithm,
      signal,
      responses,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
      killedAt,
      victim,
    };
  } finally {
    await lab.stop();
  }
}
