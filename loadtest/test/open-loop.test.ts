// The open-loop driver sends on schedule whatever the server does, and times each request from when
// it was due: a server slower than the arrival rate shows its queue in the latency.
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { driveOpenLoop } from '../src/open-loop.ts';
import { drive } from '../src/drive.ts';

async function slowServer(delayMs: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => {
    setTimeout(() => res.end('ok'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('open loop: exactly the requests asked for, and a queue behind a slow server counts in the latency', async (t) => {
  // One connection, 50 ms per answer: at most 20 answers/s against 100 due per second.
  const server = await slowServer(50);
  t.teardown(() => server.close());
  const open = await driveOpenLoop({ url: server.url, nextPath: () => '/x', length: { requests: 40 }, connections: 1, rate: 100 });
  t.is(open.requests, 40);
  t.is(open.errors, 0);
  t.is(open.latencyMode, 'open-loop');
  // The last request was due at 0.39 s and answered no earlier than 40 x 50 ms = 2 s after the start.
  t.true(open.latencyMs.max >= 1500, `max ${open.latencyMs.max} ms`);
  t.true(open.latencyMs.p50 >= 500, `p50 ${open.latencyMs.p50} ms`);
  // The same server, closed loop: each request waits only for its own answer (coordinated omission).
  const closed = await drive({ url: server.url, nextPath: () => '/x', length: { requests: 40 }, connections: 1 });
  t.is(closed.latencyMode, 'closed-loop');
  t.true(closed.latencyMs.p50 < open.latencyMs.p50, `closed p50 ${closed.latencyMs.p50} ms < open p50 ${open.latencyMs.p50} ms`);
});

test('open loop: a server that keeps up is timed by its own answer time, sent at the asked rate', async (t) => {
  const server = await slowServer(0);
  t.teardown(() => server.close());
  const started = performance.now();
  const result = await driveOpenLoop({ url: server.url, nextPath: () => '/y', length: { requests: 30 }, connections: 4, rate: 100 });
  const elapsedS = (performance.now() - started) / 1000;
  t.is(result.requests, 30);
  t.is(result.statusClasses['2xx'], 30);
  // 30 requests at 100/s are spread over at least 0.29 s: the scheduler does not send them all at once.
  t.true(elapsedS >= 0.29, `took ${elapsedS} s`);
});
