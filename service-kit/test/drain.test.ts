// drainServer: the graceful shutdown every service runs on SIGTERM. Driven by events: a handler that
// holds its answer until the test releases it, raw sockets whose requests are in flight or pipelined.
import http from 'node:http';
import net from 'node:net';
import test from 'ava';
import { DRAINING_FIELD, drainServer, listen } from '../src/lifecycle.ts';

/** A server whose /slow answers wait for `release()`; /healthz answers 200 at once. */
async function holdingServer() {
  const held: (() => void)[] = [];
  let arrived = 0;
  const waiters: (() => void)[] = [];
  const server = http.createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('{"status":"ok"}');
      return;
    }
    arrived++;
    for (const wake of waiters.splice(0)) wake();
    held.push(() => res.end(`done ${req.url}`));
  });
  const running = await listen(server, '127.0.0.1', 0);
  return {
    server,
    port: running.port,
    release: () => held.splice(0).forEach((send) => send()),
    /** Resolves once `count` held requests have arrived. */
    async arrivals(count: number) {
      while (arrived < count) await new Promise<void>((resolve) => waiters.push(resolve));
    },
  };
}

/** A raw connection: writes `text` and collects everything until the server closes it. */
function rawExchange(port: number, text: string): { done: Promise<string>; socket: net.Socket } {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(text);
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString()));
  const done = new Promise<string>((resolve) => socket.on('close', () => resolve(data)));
  return { done, socket };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nhost: x\r\n\r\n`;

test('a drain finishes in-flight requests, answers pipelined ones with Connection: close and the marker (/healthz 503), refuses new connections, then resolves', async (t) => {
  const s = await holdingServer();
  // One request in flight; a /healthz follows on the same connection once the drain has begun.
  const pipelined = rawExchange(s.port, get('/slow'));
  // An idle keep-alive connection: closed at once by the drain.
  const idle = rawExchange(s.port, get('/healthz'));
  await s.arrivals(1);
  await new Promise<void>((resolve) => idle.socket.once('data', () => resolve()));

  const drained = drainServer(s.server, 60_000);
  t.true((await idle.done).startsWith('HTTP/1.1 200'), 'the idle connection was closed after its answer');
  const refused = await new Promise<string>((resolve) => {
    const socket = net.connect(s.port, '127.0.0.1');
    socket.on('connect', () => resolve('connected'));
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
  t.is(refused, 'ECONNREFUSED');

  const healthzSeen = new Promise<void>((resolve) => s.server.once('request', () => resolve()));
  pipelined.socket.write(get('/healthz'));
  await healthzSeen;
  s.release();
  const text = await pipelined.done;
  const [first, second] = text.split(/(?=HTTP\/1\.1 )/);
  t.regex(first ?? '', /^HTTP\/1\.1 200[\s\S]*done \/slow$/);
  t.regex(second ?? '', /^HTTP\/1\.1 503 /);
  t.regex(second ?? '', new RegExp(`\\r\\n${DRAINING_FIELD}: 1\\r\\n`, 'i'));
  t.regex(second ?? '', /\r\nconnection: close, x-cdn-lab-draining\r\n/i);
  t.regex(second ?? '', /\{"status":"draining"\}$/);
  t.like(await drained, { completed: true });
});

test('a request still in flight when the grace ends is cut, and the drain says so', async (t) => {
  const s = await holdingServer();
  const stuck = rawExchange(s.port, get('/slow'));
  await s.arrivals(1);
  const result = await drainServer(s.server, 100);
  t.false(result.completed);
  t.is(await stuck.done, '', 'cut without an answer');
});
