import test from 'ava';
import { fork } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { bundleEdge } from '../../src/bench/bundle.ts';

test('the edge bundled to plain JavaScript starts without the tsx loader and answers /healthz', async (t) => {
  const file = await bundleEdge(await mkdtemp(path.join(os.tmpdir(), 'edge-bundle-')));
  t.regex(file, /main\.mjs$/);
  const child = fork(file, [], { execArgv: [], env: { PATH: process.env.PATH ?? '', UPSTREAM_URLS: 'http://127.0.0.1:9', PORT: '0', LOG_LEVEL: 'silent' }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
    child.once('exit', (code) => reject(new Error(`bundle exited with ${code}`)));
  });
  const health = await fetch(`http://127.0.0.1:${port}/healthz`);
  t.is(health.status, 200);
  child.kill('SIGTERM');
  t.is(await exited, 0);
});
