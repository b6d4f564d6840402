import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { renderBenchNginx, STATIC_PATH, type NginxBenchOptions } from '../../src/bench/nginx.ts';
import { checkRenderedServer, findCacheServer } from '@cdn-lab/infra/local/cache-servers';

const nginx = await findCacheServer('nginx');

const options: NginxBenchOptions = { prefix: '/tmp/bench-x/nginx-1', port: 18080, originPort: 18081, cacheBytes: 256 * 1024 * 1024 };

/** The value(s) of a directive in the rendered text (every occurrence, in order). */
const directive = (config: string, name: string) => [...config.matchAll(new RegExp(`^\\s*${name} ([^;{]*);`, 'gm'))].map((m) => m[1]);
const conf = (o: NginxBenchOptions) => renderBenchNginx(o).files['nginx.conf']!;

test('one worker, no access log, foreground, everything under the prefix', (t) => {
  const config = conf(options);
  t.deepEqual(directive(config, 'worker_processes'), ['1']);
  t.deepEqual(directive(config, 'daemon'), ['off']);
  t.deepEqual(directive(config, 'access_log'), ['off']);
  t.deepEqual(directive(config, 'pid'), [`${options.prefix}/nginx.pid`]);
  for (const name of ['error_log', 'client_body_temp_path', 'proxy_temp_path', 'fastcgi_temp_path', 'uwsgi_temp_path', 'scgi_temp_path', 'proxy_cache_path']) {
    const [value] = directive(config, name);
    t.true(value?.startsWith(`${options.prefix}/`), `${name} is outside the prefix: ${value}`);
  }
  t.deepEqual(directive(config, 'user'), []);
  t.deepEqual(directive(conf({ ...options, user: 'root' }), 'user'), ['root']);
});

test('with an access log file: every request logged in the combined format through a 64 KiB buffer flushed each second', (t) => {
  const config = conf({ ...options, accessLog: '/tmp/bench-x/logs/nginx-1.access.log' });
  t.deepEqual(directive(conf({ ...options, workers: 2 }), 'worker_processes'), ['2']);
  t.deepEqual(directive(config, 'access_log'), ['/tmp/bench-x/logs/nginx-1.access.log combined buffer=64k flush=1s']);
});

test('caches by the origin, coalesces misses, keeps upstream connections, listens on loopback only', (t) => {
  const config = conf(options);
  const [cachePath] = directive(config, 'proxy_cache_path');
  t.regex(cachePath!, /keys_zone=edge:\d+m/);
  t.regex(cachePath!, new RegExp(`max_size=${256 * 1024 * 1024} `));
  t.deepEqual(directive(config, 'proxy_cache'), ['edge']);
  t.deepEqual(directive(config, 'proxy_cache_lock'), ['on']);
  // Nothing tells nginx to ignore the origin's Cache-Control.
  t.deepEqual(directive(config, 'proxy_ignore_headers'), []);
  t.deepEqual(directive(config, 'listen'), ['127.0.0.1:18080']);
  t.deepEqual(directive(config, 'server'), ['127.0.0.1:18081']);
  t.deepEqual(directive(config, 'keepalive'), ['64']);
  t.deepEqual(directive(config, 'proxy_http_version'), ['1.1']);
  t.deepEqual(directive(config, 'proxy_set_header'), ['Connection ""']);
  // A fair baseline: sendfile without TCP_CORK (tcp_nopush throttles keep-alive hits, see nginx.ts).
  t.deepEqual(directive(config, 'sendfile'), ['on']);
  t.deepEqual(directive(config, 'tcp_nopush'), []);
  // The generator-ceiling location answers 1 KiB itself.
  const body = /location = (\S+) \{\s*return 200 "(x*)";/.exec(config);
  t.is(body?.[1], STATIC_PATH);
  t.is(body?.[2]?.length, 1024);
});

test('nginx args keep even the early error log in the prefix; the check is nginx -t', (t) => {
  const { args, checkArgs, stopSignal } = renderBenchNginx({ ...options, prefix: '/p' });
  t.deepEqual(args, ['-p', '/p', '-e', '/p/error.log', '-c', '/p/nginx.conf']);
  t.deepEqual(checkArgs.slice(0, 2), ['-t', '-q']);
  t.is(stopSignal, 'SIGQUIT');
});

const withNginx = 'path' in nginx ? test : test.skip;
if ('missing' in nginx) process.stderr.write(`nginx.test.ts: ${nginx.missing}: config not validated\n`);

withNginx('nginx -t accepts the rendered config', async (t) => {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'bench-nginx-test-'));
  try {
    const isRoot = process.getuid?.() === 0;
    await t.notThrowsAsync(checkRenderedServer('nginx', renderBenchNginx({ ...options, prefix, ...(isRoot ? { user: 'root' } : {}) }), prefix));
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
});
