import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { checkRenderedServer, findCacheServer } from '@cdn-lab/infra/local/cache-servers';
import { renderBenchVarnish } from '../../src/bench/varnish.ts';

const varnishd = await findCacheServer('varnish');
const options = { port: 18080, originPort: 18081, dir: '/w', storageBytes: 256 * 1024 * 1024 };

test('the VCL names the origin as its only backend and marks hits', (t) => {
  const vcl = renderBenchVarnish(options).files['edge.vcl']!;
  t.true(vcl.startsWith('vcl 4.1;'));
  t.is(vcl.match(/^backend /gm)?.length, 1);
  t.regex(vcl, /\.host = "127\.0\.0\.1";/);
  t.regex(vcl, /\.port = "18081";/);
  t.regex(vcl, /obj\.hits > 0/);
  // The built-in VCL decides cacheability from Cache-Control: nothing here overrides a TTL, except
  // hit-for-miss for an object larger than the whole storage.
  t.deepEqual(vcl.match(/beresp\.ttl = \S+;/g), ['beresp.ttl = 120s;']);
  t.regex(vcl, new RegExp(`> ${256 * 1024 * 1024}\\)`));
});

test('varnishd runs in the foreground on loopback with malloc storage and no management port', (t) => {
  const { args, checkArgs } = renderBenchVarnish(options);
  const value = (flag: string) => args[args.indexOf(flag) + 1];
  t.true(args.includes('-F'));
  t.is(value('-a'), '127.0.0.1:18080');
  t.is(value('-f'), '/w/edge.vcl');
  t.is(value('-s'), `malloc,${256 * 1024 * 1024}`);
  t.is(value('-n'), '/w/work');
  t.is(value('-T'), 'none');
  t.deepEqual(checkArgs, ['-C', '-f', '/w/edge.vcl', '-n', '/w/work']);
});

const withVarnish = 'path' in varnishd ? test : test.skip;
if ('missing' in varnishd) process.stderr.write(`varnish.test.ts: ${varnishd.missing}: VCL not compiled\n`);

withVarnish('varnishd -C compiles the rendered VCL', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-varnish-test-'));
  try {
    // -C prints the C the VCL compiles to (on stderr in Varnish 7); our backend is in it.
    t.regex(await checkRenderedServer('varnish', renderBenchVarnish({ ...options, dir }), dir), /18081/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
