import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { findExecutable, runToEnd } from '@cdn-lab/infra/local/processes';
import { renderVcl, varnishdArgs, varnishdCompileArgs } from '../../src/bench/varnish.ts';

const varnishd = await findExecutable('varnishd');

test('the VCL names the origin as its only backend and marks hits', (t) => {
  const vcl = renderVcl(18081);
  t.true(vcl.startsWith('vcl 4.1;'));
  t.is(vcl.match(/^backend /gm)?.length, 1);
  t.regex(vcl, /\.host = "127\.0\.0\.1";/);
  t.regex(vcl, /\.port = "18081";/);
  t.regex(vcl, /obj\.hits > 0/);
  // The built-in VCL decides cacheability from Cache-Control: nothing here overrides a TTL.
  t.notRegex(vcl, /beresp\.ttl/);
});

test('varnishd runs in the foreground on loopback with malloc storage and no management port', (t) => {
  const args = varnishdArgs({ port: 18080, vclFile: '/w/bench.vcl', workDir: '/w/work', storageBytes: 256 * 1024 * 1024 });
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.true(args.includes('-F'));
  t.is(value('-a'), '127.0.0.1:18080');
  t.is(value('-f'), '/w/bench.vcl');
  t.is(value('-s'), 'malloc,256m');
  t.is(value('-n'), '/w/work');
  t.is(value('-T'), 'none');
  t.deepEqual(varnishdCompileArgs('/w/bench.vcl', '/w/c'), ['-C', '-f', '/w/bench.vcl', '-n', '/w/c']);
});

const withVarnish = varnishd ? test : test.skip;
if (!varnishd) process.stderr.write('varnish.test.ts: varnish is not installed (apt-get install varnish): VCL not compiled\n');

withVarnish('varnishd -C compiles the rendered VCL', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-varnish-test-'));
  try {
    // varnishd reads the VCL as its unprivileged user.
    await chmod(dir, 0o755);
    const vclFile = path.join(dir, 'bench.vcl');
    await writeFile(vclFile, renderVcl(18081));
    const { stdout, stderr } = await runToEnd(varnishd!, varnishdCompileArgs(vclFile, path.join(dir, 'work')), { timeoutMs: 30_000 });
    // -C prints the C the VCL compiles to (on stderr in Varnish 7); our backend is in it.
    t.regex(stdout + stderr, /18081/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
