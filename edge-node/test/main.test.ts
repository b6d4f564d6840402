// main.ts as a real process: IPC ready message, clean exit on SIGTERM, exit 2 naming a bad env var.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { request, startUpstream } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function start(env: Record<string, string>) {
  return fork(MAIN, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
}

test('main.ts sends the IPC ready message, serves, and exits 0 on SIGTERM', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const child = start({ UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-main' });
  const ready = await new Promise<{ type: string; service: string; port: number }>((resolve, reject) => {
    child.once('message', (message) => resolve(message as { type: string; service: string; port: number }));
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
  t.like(ready, { type: 'ready', service: 'edge-node' });
  t.true(ready.port > 0);
  const answer = await request(`http://127.0.0.1:${ready.port}/obj/9`);
  t.is(answer.status, 200);
  t.is(answer.body, 'body of /obj/9');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.is(await exited, 0);
});

test('main.ts exits 2 and names the variable on bad env', async (t) => {
  const child = start({ UPSTREAM_URLS: 'http://127.0.0.1:1', CACHE_POLICY: 'nope', CACHE_BYTES: '-5' });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.is(code, 2);
  t.regex(stderr, /CACHE_POLICY: unknown cache policy; valid policies: .*\blru\b/);
  t.regex(stderr, /CACHE_BYTES: /);
});

test('main.ts without UPSTREAM_URLS exits 2 naming it', async (t) => {
  const child = start({});
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
  t.is(code, 2);
  t.regex(stderr, /UPSTREAM_URLS: required/);
});
