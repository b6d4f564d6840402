import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { nginxArgs, renderNginxConfig, STATIC_PATH, type NginxBenchOptions } from '../../src/bench/nginx.ts';
import { findExecutable, runToEnd } from '@cdn-lab/infra/local/processes';

const nginx = await findExecutable('nginx');

const options: NginxBenchOptions = { prefix: '/tmp/bench-x/nginx-1', port: 18080, originPort: 18081, cacheBytes: 256 * 1024 * 1024 };

/** The value(s) of a directive in the rendered text (every occurrence, in order). */
const directive = (config: string, name: string) => [...config.matchAll(new RegExp(`^\\s*${name} ([^;{]*);`, 'gm'))].map((m) => m[1]);

test('one worker, no access log, foreground, everything under the prefix', (t) => {
  const config = renderNginxConfig(options);
  t.deepEqual(directive(config, 'worker_processes'), ['1']);
  t.deepEqual(directive(config, 'daemon'), ['off']);
  t.deepEqual(directive(config, 'access_log'), ['off']);
  t.deepEqual(directive(config, 'pid'), [`${options.prefix}/nginx.pid`]);
  for (const name of ['error_log', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path', 'proxy_cache_path']) {
    const [value] = directive(config, name);
    t.true(value?.startsWith(`${options.prefix}/`), `${name} is outside the prefix: ${value}`);
  }
  t.deepEqual(directive(config, 'user'), []);
  t.deepEqual(directive(renderNginxConfig({ ...options, user: 'root' }), 'user'), ['root']);
});

test('caches by the origin, coalesces misses, keeps upstream connections, listens on loopback only', (t) => {
  const config = renderNginxConfig(options);
  const [cachePath] = directive(config, 'proxy_cache_path');
  t.regex(cachePath!, /keys_zone=bench:\d+m/);
  t.regex(cachePath!, /max_size=256m/);
  t.deepEqual(directive(config, 'proxy_cache'), ['bench']);
  t.deepEqual(directive(config, 'proxy_cache_lock'), ['on']);
  t.true(directive(config, 'proxy_cache_valid').length > 0);
  // Nothing tells nginx to ignore the origin's Cache-Control.
  t.deepEqual(directive(config, 'proxy_ignore_headers'), []);
  t.deepEqual(directive(config, 'listen'), ['127.0.0.1:18080']);
  t.deepEqual(directive(config, 'server'), ['127.0.0.1:18081']);
  t.deepEqual(directive(config, 'keepalive'), ['64']);
  t.deepEqual(directive(config, 'proxy_http_version'), ['1.1']);
  t.deepEqual(directive(config, 'proxy_set_header'), ['Connection ""']);
  t.deepEqual(directive(config, 'proxy_pass'), ['http://origin']);
  // A fair baseline: sendfile without TCP_CORK (tcp_nopush throttles keep-alive hits, see nginx.ts).
  t.deepEqual(directive(config, 'sendfile'), ['on']);
  t.deepEqual(directive(config, 'tcp_nopush'), []);
  // The generator-ceiling location answers 1 KiB itself.
  const body = /location = (\S+) \{\s*return 200 "(x*)";/.exec(config);
  t.is(body?.[1], STATIC_PATH);
  t.is(body?.[2]?.length, 1024);
});

test('nginx args keep even the early error log in the prefix', (t) => {
  t.deepEqual(nginxArgs('/p', '/p/nginx.conf'), ['-p', '/p', '-e', '/p/error.log', '-c', '/p/nginx.conf']);
  t.deepEqual(nginxArgs('/p', '/p/nginx.conf', { test: true }).slice(0, 2), ['-t', '-q']);
});

const withNginx = nginx ? test : test.skip;
if (!nginx) process.stderr.write('nginx.test.ts: nginx is not installed (apt-get install nginx): config not validated\n');

withNginx('nginx -t accepts the rendered config', async (t) => {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'bench-nginx-test-'));
  try {
    await chmod(prefix, 0o755);
    const configFile = path.join(prefix, 'nginx.conf');
    const isRoot = process.getuid?.() === 0;
    await writeFile(configFile, renderNginxConfig({ ...options, prefix, ...(isRoot ? { user: 'root' } : {}) }));
    await t.notThrowsAsync(runToEnd(nginx!, nginxArgs(prefix, configFile, { test: true }), { timeoutMs: 20_000 }));
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
});
