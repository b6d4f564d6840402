// The access log loses no line at shutdown: a real edge process writes its log lines to a file (as
// the Docker and systemd deployments do), misses stream through it from several clients, SIGTERM
// arrives mid-stream, and after it exits every request a client got a 200 for has its line in the
// file, every line whole. Lines wait in the log's buffer (batches, a flush timer), so a shutdown
// that skipped the last flush would lose the tail. Every wait is on an event (responses, exit).
import { fork } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { startUpstream } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const CLIENTS = 8;
/** Responses before SIGTERM: enough that lines sit in a partly filled batch when it lands. */
const BEFORE_SIGTERM = 1500;

test('SIGTERM under load: every answered request has its access line in the log file', async (t) => {
  const upstream = await startUpstream();
  t.teardown(() => upstream.close());
  const dir = await mkdtemp(path.join(os.tmpdir(), 'edge-log-shutdown-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const logFile = path.join(dir, 'edge.log');
  const fd = openSync(logFile, 'a');
  const child = fork(MAIN, [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH, HOST: '127.0.0.1', PORT: '0', UPSTREAM_URLS: upstream.url, EDGE_ID: 'edge-log', LOG_LEVEL: 'info' },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  t.teardown(() => clearTimeout(killer));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (message) => resolve((message as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`edge exited early with ${code}`)));
  });

  // Each client asks for new paths one after another until the edge stops answering.
  const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS });
  t.teardown(() => agent.destroy());
  const answered = new Set<string>();
  let next = 0;
  let sigtermSent = false;
  const get = (p: string) =>
    new Promise<number>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      });
      req.on('error', () => resolve(0));
    });
  const client = async () => {
    for (;;) {
      const p = `/obj/${next++}`;
      const status = await get(p);
      if (status === 0) return; // refused or closed: the edge is gone
      if (status === 200) answered.add(p);
      if (!sigtermSent && answered.size >= BEFORE_SIGTERM) {
        sigtermSent = true;
        child.kill('SIGTERM');
      }
    }
  };
  await Promise.all(Array.from({ length: CLIENTS }, client));
  t.is(await exited, 0);
  t.true(sigtermSent);

  const lines = (await readFile(logFile, 'utf8')).split('\n').filter(Boolean);
  const logged = new Set<string>();
  for (const line of lines) {
    const entry = JSON.parse(line) as { path?: string; result?: string };
    if (entry.result !== undefined && entry.path !== undefined) logged.add(entry.path);
  }
  const missing = [...answered].filter((p) => !logged.has(p));
  t.true(answered.size >= BEFORE_SIGTERM);
  t.deepEqual(missing.slice(0, 5), [], `${missing.length} of ${answered.size} answered requests have no access line`);
});
