// Unit checks of what real cache servers' runs are built on: the origin-counted figures, the
// process-tree reading from /proc, and Belady's replay counting only the measured requests.
import { spawn } from 'node:child_process';
import test from 'ava';
import { parseProcStat, readProcessTree } from '@cdn-lab/infra/local/processes';
import { parseTopology } from '@cdn-lab/infra/topology';
import { cacheFiguresFromOrigin } from '../src/measure.ts';
import { parseMetrics } from '../src/scrape.ts';
import { nextUses, replayBelady } from '../src/sim/belady.ts';
import { simulatedPolicy } from '../src/live-vs-sim.ts';

const origin = (requests: number, bytes: number, healthz = 0) =>
  parseMetrics(
    [
      `origin_http_requests_total{route="obj",code="2xx"} ${requests}`,
      `origin_http_requests_total{route="healthz",code="2xx"} ${healthz}`,
      `origin_response_bytes_total{route="obj"} ${bytes}`,
      `origin_response_bytes_total{route="healthz"} ${healthz * 15}`,
    ].join('\n'),
  );

test('a real cache server\'s hit ratio is what did not reach the origin, checked against its own header', (t) => {
  const figures = cacheFiguresFromOrigin([origin(100, 50_000, 3)], [origin(400, 150_000, 90)], { requests: 1000, bodyBytes: 400_000, serverHits: 700 });
  t.is(figures.originRequests, 300);
  t.is(figures.hitRatio, 0.7);
  t.is(figures.byteHitRatio, 0.75);
  t.is(figures.originOffload, 0.7);
  t.is(figures.serverHitRatio, 0.7);
  t.true(figures.countsAgree);
  t.is(figures.countedBy, 'origin');
  // A server that calls 20 coalesced followers misses: its count and the origin's disagree.
  const followers = cacheFiguresFromOrigin([origin(0, 0)], [origin(300, 100_000)], { requests: 1000, bodyBytes: 400_000, serverHits: 680 });
  t.is(followers.edgeToOriginRequests, 320);
  t.false(followers.countsAgree);
});

test('the offline stand-in for each server: LRU, FIFO for Traffic Server, none for GDSF', (t) => {
  const edges = (input: object) => parseTopology({ edges: input }).edges;
  t.is(simulatedPolicy(edges({ policy: 'arc' })), 'arc');
  t.is(simulatedPolicy(edges({ software: 'nginx' })), 'lru');
  t.is(simulatedPolicy(edges({ software: 'squid', policy: 'gdsf' })), undefined);
  t.is(simulatedPolicy(edges({ software: 'trafficserver', policy: 'clfus' })), 'fifo');
});

test('Belady counts hits only from countFrom on; the requests before warm the cache', (t) => {
  const keys = Int32Array.from([1, 2, 1, 2, 1, 2]);
  const sizes = new Float64Array(6).fill(1);
  const all = replayBelady(keys, sizes, nextUses(keys), 2, true);
  t.is(all.hits, 4);
  const measured = replayBelady(keys, sizes, nextUses(keys), 2, true, undefined, 4);
  t.is(measured.hits, 2);
  t.is(measured.requests, 2);
});

test('parseProcStat reads the parent and CPU ticks after a command name with spaces', (t) => {
  const stat = '4242 (my (odd) name) S 17 4242 4242 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10';
  t.deepEqual(parseProcStat(stat), { ppid: 17, cpuTicks: 300 });
});

test('readProcessTree finds a process and its child, and nothing once they are gone', async (t) => {
  const parent = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
  let pids: number[] = [];
  try {
    let tree = await readProcessTree(parent.pid!);
    for (let i = 0; i < 100 && (tree?.pids.length ?? 0) < 2; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      tree = await readProcessTree(parent.pid!);
    }
    pids = tree?.pids ?? [];
    t.is(pids[0], parent.pid);
    t.is(pids.length, 2);
    t.true(tree!.peakRssBytes > 0);
    t.true(tree!.cpuSeconds >= 0);
  } finally {
    const exited = new Promise((resolve) => parent.once('exit', resolve));
    for (const pid of pids.length ? pids.reverse() : [parent.pid!]) process.kill(pid, 'SIGTERM');
    await exited;
  }
  t.is(await readProcessTree(parent.pid!), undefined);
});
