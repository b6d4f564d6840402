import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import type { ReadyMessage } from '@cdn-lab/service-kit';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const mainPath = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function start(env: Record<string, string>): { child: ChildProcess; stderr: () => string; exit: Promise<number | null> } {
  const child = fork(mainPath, [], {
    cwd: repoRoot,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exit };
}

test('main sends ready over IPC, serves /healthz and exits 0 on SIGTERM', async (t) => {
  const { child, exit } = start({ ORIGIN_ID: 'origin-main' });
  t.teardown(() => void child.kill('SIGKILL'));
  const ready = await new Promise<ReadyMessage>((resolve, reject) => {
    child.once('message', (message) => resolve(message as ReadyMessage));
    child.once('exit', (code) => reject(new Error(`exited ${code} before ready`)));
  });
  t.like(ready, { type: 'ready', service: 'origin', host: '127.0.0.1' });
  t.true(ready.port > 0);
  const response = await fetch(`http://127.0.0.1:${ready.port}/healthz`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok' });
  const metrics = await (await fetch(`http://127.0.0.1:${ready.port}/metrics`)).text();
  t.regex(metrics, /origin_http_requests_total\{route="healthz",code="2xx",origin="origin-main"\} 1/);
  child.kill('SIGTERM');
  t.is(await exit, 0);
});

test('a bad env var exits 2 with a message naming it', async (t) => {
  const { child, stderr, exit } = start({ CATALOGUE_OBJECTS: 'lots', ERROR_RATE: '0.1' });
  t.teardown(() => void child.kill('SIGKILL'));
  t.is(await exit, 2);
  t.regex(stderr(), /CATALOGUE_OBJECTS: /);
  t.notRegex(stderr(), /ERROR_RATE/);
});
