import { readFile } from 'node:fs/promises';
import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BARE_NODE_PROGRAM, baseEnv } from '../../src/bench/proxies.ts';
import { findExecutable, parseProcStat, parseProcStatusMemory, pinned, readMemory, readTreeCpuSeconds, runToEnd, startNodeService, stopProcess } from '@cdn-lab/infra/local/processes';

test('pinned wraps in taskset only when both a CPU and taskset are given', (t) => {
  t.deepEqual(pinned('/usr/sbin/nginx', ['-c', 'x'], 0, '/usr/bin/taskset'), { command: '/usr/bin/taskset', args: ['-c', '0', '/usr/sbin/nginx', '-c', 'x'] });
  t.deepEqual(pinned('/usr/sbin/nginx', ['-c', 'x'], undefined, '/usr/bin/taskset'), { command: '/usr/sbin/nginx', args: ['-c', 'x'] });
  t.deepEqual(pinned('/usr/sbin/nginx', [], 1, undefined), { command: '/usr/sbin/nginx', args: [] });
});

test('findExecutable finds sh on PATH and not a made-up name', async (t) => {
  t.regex((await findExecutable('sh')) ?? '', /\/sh$/);
  t.is(await findExecutable('no-such-program-cdnlab', '/nonexistent'), undefined);
});

test('memory from /proc/<pid>/status: VmRSS and VmHWM in bytes', async (t) => {
  const sample = 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n';
  t.deepEqual(parseProcStatusMemory(sample), { rssBytes: 102400 * 1024, peakRssBytes: 204800 * 1024 });
  t.is(parseProcStatusMemory('Name:\tkthreadd\n'), undefined);
  const own = await readFile('/proc/self/status', 'utf8').catch(() => undefined);
  if (!own) {
    t.log('/proc not available: live read not checked');
    return;
  }
  const memory = await readMemory(process.pid);
  t.truthy(memory);
  t.true(memory!.rssBytes > 0 && memory!.peakRssBytes >= memory!.rssBytes);
  t.is(await readMemory(2 ** 30), undefined);
});

test('runToEnd returns output and rejects with the exit code and stderr', async (t) => {
  const { stdout } = await runToEnd('sh', ['-c', 'echo out; echo err >&2']);
  t.is(stdout, 'out\n');
  await t.throwsAsync(runToEnd('sh', ['-c', 'echo broken >&2; exit 3']), { message: /exited with 3: broken/ });
});

test('startNodeService runs a repository program (bare-node) from its bundle: ready over IPC, serving, stopped', async (t) => {
  const origin = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-length': 3 });
    res.end('abc');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  t.teardown(() => origin.close());
  const service = await startNodeService({
    name: 'bare-node',
    program: BARE_NODE_PROGRAM,
    env: { ...baseEnv(), PORT: '0', ORIGIN_URL: `http://127.0.0.1:${(origin.address() as AddressInfo).port}` },
    pinning: { cpu: undefined, taskset: undefined },
  });
  t.teardown(() => stopProcess(service.child));
  t.true(service.port > 0);
  const first = await fetch(`http://127.0.0.1:${service.port}/x`);
  t.is(await first.text(), 'abc');
  t.is(first.headers.get('x-cache'), 'MISS');
  t.is((await fetch(`http://127.0.0.1:${service.port}/x`)).headers.get('x-cache'), 'HIT');
  await stopProcess(service.child);
  t.not(service.child.exitCode ?? service.child.signalCode, null, 'exited');
});

test('the bare-node program refuses a bad ORIGIN_URL with a message and exit code 2', async (t) => {
  await t.throwsAsync(
    startNodeService({ name: 'bare-node', program: BARE_NODE_PROGRAM, env: { ...baseEnv(), ORIGIN_URL: 'not a url' }, pinning: { cpu: undefined, taskset: undefined } }),
    { message: /bare-node exited before it was ready \(code 2/ },
  );
});

test('CPU ticks from /proc/<pid>/stat (a name with spaces and parentheses included), and a process tree counted whole', async (t) => {
  const stat = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 75 3 4 20 0 11 0 123 456789 1234 18446744073709551615';
  t.deepEqual(parseProcStat(stat), { ppid: 1, cpuTicks: 325 });
  t.is(parseProcStat('garbage'), undefined);
  // A parent that idles while its child spins: the tree's CPU is the child's.
  const { spawn } = await import('node:child_process');
  // Its own process group, so the spinning child goes with it.
  const parent = spawn('sh', ['-c', 'sh -c "while :; do :; done" & wait'], { stdio: 'ignore', detached: true });
  try {
    const start = await readTreeCpuSeconds(parent.pid!);
    t.not(start, undefined);
    let now = start!;
    // Waits for the child's CPU to show in the tree: no time limit, the test's timeout is the net.
    while (now - start! < 0.05) {
      await new Promise((r) => setTimeout(r, 100));
      now = (await readTreeCpuSeconds(parent.pid!))!;
    }
    t.true(now > start!);
  } finally {
    process.kill(-parent.pid!, 'SIGKILL');
  }
  t.is(await readTreeCpuSeconds(2 ** 22 + 12345), undefined);
});
