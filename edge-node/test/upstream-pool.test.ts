// The upstream pool keeps its connections: misses from many clients at once reuse kept-alive
// connections to the origin instead of opening one per miss (the miss profile's first suspect,
// loadtest/BENCH.md). No timing: only connections and requests are counted.
import http from 'node:http';
import test from 'ava';
import { startEdge, startUpstream } from './helpers.ts';

const CLIENTS = 20;
const MISSES = 1000;

test('1 000 misses from 20 concurrent clients open at most 20 connections to the origin', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  let connections = 0;
  upstream.server.on('connection', () => connections++);
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, LOG_LEVEL: 'warn' });
  t.teardown(() => edge.close());
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  t.teardown(() => agent.destroy());
  let next = 0;
  const client = async () => {
    while (next < MISSES) {
      const path = `/obj/${next++}`;
      const status = await new Promise<number>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: edge.port, path, agent }, (res) => res.resume().on('end', () => resolve(res.statusCode!))).on('error', reject);
      });
      t.is(status, 200, path);
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  t.is(upstream.count('/obj/'), MISSES, 'every request was a miss');
  t.true(connections <= CLIENTS, `${connections} connections to the origin for ${MISSES} misses`);
});
