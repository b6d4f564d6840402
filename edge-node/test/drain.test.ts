// Graceful drain of a real edge process: misses in flight to a slow origin when SIGTERM arrives all
// complete with 200, then the process exits 0. The origin answers 2.5 s after the edge logged the
// start of its drain, past the fixed 2 s the edge used to allow; the edge's default grace is
// UPSTREAM_TIMEOUT_MS + 1 s. Every wait is on an event (arrivals, a log line, exit).
import { fork } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import test from 'ava';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const IN_FLIGHT = 20;

test('SIGTERM: every in-flight miss completes with 200, then the edge exits 0', async (t) => {
  const held: (() => void)[] = [];
  let arrivedWaiter: (() => void) | undefined;
  const origin = http.createServer((req, res) => {
    held.push(() => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(`body of ${req.url}`);
    });
    if (held.length === IN_FLIGHT) arrivedWaiter?.();
  });
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    origin.closeAllConnections();
    origin.close();
  });

  const child = fork(MAIN, [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, UPSTREAM_URLS: `http://127.0.0.1:${(origin.address() as AddressInfo).port}`, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  t.teardown(() => clearTimeout(killer));
  const lines: Record<string, unknown>[] = [];
  const lineWaiters: { msg: string; wake: () => void }[] = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    for (const part of parts) {
      if (!part) continue;
      const line = JSON.parse(part) as Record<string, unknown>;
      lines.push(line);
      for (const waiter of lineWaiters.filter((w) => String(line.msg).startsWith(w.msg))) waiter.wake();
    }
  });
  child.stderr?.resume();
  const exited = new Promise<{ code: number | null; at: number }>((resolve) => child.on('exit', (code) => resolve({ code, at: performance.now() })));
  const ready = (await new Promise((resolve) => child.once('message', resolve))) as { port: number };

  const arrived = new Promise<void>((resolve) => (arrivedWaiter = resolve));
  const agent = new http.Agent({ keepAlive: true });
  const replies = Array.from(
    { length: IN_FLIGHT },
    (_, i) =>
      new Promise<{ status: number; body: string; at: number }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port: ready.port, path: `/obj/${i}`, agent }, (res) => {
            let body = '';
            res.on('data', (chunk: Buffer) => (body += chunk.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, at: performance.now() }));
            res.on('error', reject);
          })
          .on('error', reject);
      }),
  );
  await arrived;

  const draining = new Promise<void>((resolve) => lineWaiters.push({ msg: 'shutting down', wake: resolve }));
  child.kill('SIGTERM');
  await draining;
  await new Promise((resolve) => setTimeout(resolve, 2500));
  for (const send of held.splice(0)) send();

  const settled = await Promise.allSettled(replies);
  const exit = await exited;
  agent.destroy();
  const failures = settled.filter((r) => r.status === 'rejected').map((r) => String((r as PromiseRejectedResult).reason));
  t.deepEqual(failures, [], 'no in-flight request was cut');
  const answered = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  t.is(answered.length, IN_FLIGHT);
  t.true(answered.every((r, i) => r.status === 200 && r.body === `body of /obj/${i}`));
  t.is(exit.code, 0);
  t.true(answered.every((r) => r.at <= exit.at), 'the process exited after the last answer');
  t.true(lines.some((line) => line.msg === 'drained: every in-flight request finished'));
});
