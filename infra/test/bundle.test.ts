import { fork } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { bundleService, serviceBundle } from '../src/local/bundle.ts';

test('every service bundles to plain JavaScript that starts without a loader, reports ready and answers /healthz', async (t) => {
  const envs: Record<string, Record<string, string>> = {
    origin: {},
    edge: { UPSTREAM_URLS: 'http://127.0.0.1:9' },
    balancer: { BACKENDS: 'e0=http://127.0.0.1:9' },
  };
  for (const kind of ['origin', 'edge', 'balancer'] as const) {
    const file = await serviceBundle(kind);
    t.regex(file, new RegExp(`${kind}\\.mjs$`));
    t.is(await serviceBundle(kind), file, 'built once per process');
    t.false((await readFile(file, 'utf8')).includes('from "tsx'), 'no loader inside');
    t.deepEqual((await readdir(path.dirname(file))).filter((name) => name.includes('.partial')), [], 'written whole, then renamed');
    const child = fork(file, [], { execArgv: [], env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', LOG_LEVEL: 'silent', ...envs[kind] }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const port = await new Promise<number>((resolve, reject) => {
      child.on('message', (m: { type?: string; port?: number }) => m.type === 'ready' && resolve(m.port!));
      child.once('exit', (code) => reject(new Error(`${kind} bundle exited with ${code}`)));
    });
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    t.is(health.status, 200, kind);
    child.kill('SIGTERM');
    t.is(await exited, 0, kind);
  }
});

test('a service that does not build is a BundleError naming the service and the entry', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bundle-test-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // An output path under a regular file cannot be written: esbuild fails, as it would on a syntax error.
  const blocker = path.join(dir, 'file');
  await writeFile(blocker, 'x');
  await t.throwsAsync(bundleService('edge', path.join(blocker, 'edge.mjs')), { name: 'BundleError', message: /could not bundle edge \(edge-node\/src\/main\.ts\)/ });
});
