// fillCache: every URL cached before timing, on every worker of an edge under node:cluster (each
// worker has its own cache): afterwards no request, on whichever worker it lands, reaches the origin.
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { fillCache } from '../../src/bench/run.ts';

const EDGE_MAIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../edge-node/src/main.ts');
const TSX = createRequire(import.meta.url).resolve('tsx');

test('fillCache fills each of two edge workers with every URL, once each', async (t) => {
  const asked = new Map<string, number>();
  const origin = http.createServer((req, res) => {
    asked.set(req.url!, (asked.get(req.url!) ?? 0) + 1);
    res.writeHead(200, { 'cache-control': 'max-age=600', 'content-length': 100 });
    res.end(Buffer.alloc(100, 'x'));
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    origin.closeAllConnections();
    origin.close();
  });
  const edge = fork(EDGE_MAIN, [], {
    execArgv: ['--import', TSX],
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', EDGE_WORKERS: '2', UPSTREAM_URLS: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => edge.once('exit', () => resolve()));
  t.teardown(async () => {
    edge.kill('SIGTERM');
    await exited;
  });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    edge.once('message', (m) => resolve(m as { port: number }));
    edge.once('exit', (code) => reject(new Error(`edge exited with ${code}`)));
  });
  const base = `http://127.0.0.1:${port}`;
  await fillCache(base, 200, 100, { concurrency: 4, workers: 2 });
  t.is(asked.size, 200);
  t.true([...asked.values()].every((n) => n === 2), 'every URL fetched once per worker');
  // Fresh connections land on both workers in turn: all hits.
  for (let id = 0; id < 200; id += 7) {
    const status = await new Promise<number>((resolve, reject) =>
      http.get(`${base}/obj/${id}`, { agent: false }, (res) => res.resume().on('end', () => resolve(res.statusCode!))).on('error', reject),
    );
    t.is(status, 200);
  }
  t.true([...asked.values()].every((n) => n === 2), 'a request after the fill reached the origin');
});
