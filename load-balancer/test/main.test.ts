import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { request, startBackends } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function start(env: Record<string, string>) {
  const child = fork(MAIN, [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += String(chunk)));
  child.stdout?.resume();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  void exited.then(() => clearTimeout(timer));
  return { child, exited, stderr: () => stderr };
}

test('main.ts sends the IPC ready message, proxies, and exits 0 on SIGTERM', async (t) => {
  const backends = await startBackends(2);
  t.teardown(() => Promise.all(backends.map((backend) => backend.close())));
  const { child, exited, stderr } = start({
    BACKENDS: backends.map((b) => `${b.id}=${b.url}`).join(','),
    LB_ALGORITHM: 'least-connections',
    PORT: '0',
  });
  const ready = await Promise.race([
    new Promise<unknown>((resolve) => child.once('message', resolve)),
    exited.then((code) => ({ exited: code, stderr: stderr() })),
  ]);
  t.like(ready, { type: 'ready', service: 'load-balancer', host: '127.0.0.1' });
  const port = (ready as { port: number }).port;
  t.true(port > 0);
  const reply = await request(`http://127.0.0.1:${port}`, '/obj/1');
  t.is(reply.status, 200);
  t.regex(String(reply.headers['x-served-by']), /^edge-[01]$/);
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('bad environment: exit code 2 and stderr names the variable', async (t) => {
  const { exited, stderr } = start({ BACKENDS: 'edge-0=http://127.0.0.1:1', LB_ALGORITHM: 'fastest' });
  t.is(await exited, 2);
  t.regex(stderr(), /LB_ALGORITHM: unknown algorithm "fastest"; valid algorithms: round-robin/);
  const missing = start({});
  t.is(await missing.exited, 2);
  t.regex(missing.stderr(), /BACKENDS: /);
});
