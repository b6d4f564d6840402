import { readFile } from 'node:fs/promises';
import test from 'ava';
import { findExecutable, parseProcStatusMemory, pinned, readMemory, runToEnd } from '../../src/bench/processes.ts';

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
