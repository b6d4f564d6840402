import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { checkRenderedServer, findCacheServer, RENDERERS, serverUser } from '../../src/local/cache-servers.ts';
import { CACHE_SERVERS, SERVER_POLICIES, servedFromServerCache, type CacheServerInput } from '../../src/render/cache-server.ts';

const MiB = 1024 * 1024;
const installed = Object.fromEntries(await Promise.all(CACHE_SERVERS.map(async (software) => [software, await findCacheServer(software)] as const)));
const input = (overrides: Partial<CacheServerInput> = {}): CacheServerInput => ({
  id: 'edge-0',
  listenPort: 18080,
  upstream: { host: '127.0.0.1', port: 18081 },
  cacheBytes: 24 * MiB + 12345,
  policy: 'lru',
  coalescing: true,
  serveStale: true,
  maxObjectBytes: 4 * MiB,
  upstreamTimeoutMs: 10_000,
  dir: '/tmp/cdn-lab-x/edge-0',
  ...overrides,
});

/** Lines of a rendered file that match `pattern`, trimmed. */
const lines = (text: string, pattern: RegExp) => text.split('\n').map((l) => l.trim()).filter((l) => pattern.test(l));

test('nginx: byte budget in max_size, coalescing with proxy_cache_lock, stale serving, X-Cache-Status, one worker on loopback', (t) => {
  const { files, args, checkArgs } = RENDERERS.nginx(input());
  const conf = files['nginx.conf']!;
  t.regex(conf, /proxy_cache_path \/tmp\/cdn-lab-x\/edge-0\/cache .*max_size=25178169 /);
  t.deepEqual(lines(conf, /^proxy_cache_lock /), ['proxy_cache_lock on;']);
  t.deepEqual(lines(conf, /^proxy_cache_use_stale /), ['proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;']);
  t.deepEqual(lines(conf, /^listen /), ['listen 127.0.0.1:18080;']);
  t.deepEqual(lines(conf, /^server 127/), ['server 127.0.0.1:18081;']);
  t.deepEqual(lines(conf, /^worker_processes /), ['worker_processes 1;']);
  t.deepEqual(lines(conf, /^add_header X-Cache-Status/), ['add_header X-Cache-Status $upstream_cache_status always;']);
  t.deepEqual(checkArgs.slice(0, 2), ['-t', '-q']);
  t.deepEqual(args.slice(-2), ['-c', '/tmp/cdn-lab-x/edge-0/nginx.conf']);
  const off = RENDERERS.nginx(input({ coalescing: false, serveStale: false, storageDir: '/dev/shm/x' })).files['nginx.conf']!;
  t.deepEqual(lines(off, /^proxy_cache_lock /), ['proxy_cache_lock off;']);
  t.deepEqual(lines(off, /^proxy_cache_use_stale /), ['proxy_cache_use_stale off;']);
  t.regex(off, /proxy_cache_path \/dev\/shm\/x\/cache /);
});

test('varnish: malloc storage of the byte budget, objects over the size limit not stored, grace off without stale serving', (t) => {
  const { files, args } = RENDERERS.varnish(input());
  t.deepEqual(args.slice(args.indexOf('-s'), args.indexOf('-s') + 2), ['-s', `malloc,${24 * MiB + 12345}`]);
  t.deepEqual(args.slice(args.indexOf('-a'), args.indexOf('-a') + 2), ['-a', '127.0.0.1:18080']);
  t.deepEqual(args.slice(args.indexOf('-T'), args.indexOf('-T') + 2), ['-T', 'none']);
  const vcl = files['edge.vcl']!;
  t.regex(vcl, /\.port = "18081";/);
  t.regex(vcl, /std\.integer\(beresp\.http\.Content-Length, 0\) > 4194304/);
  t.notRegex(vcl, /beresp\.grace = 0s/);
  t.regex(RENDERERS.varnish(input({ serveStale: false })).files['edge.vcl']!, /set beresp\.grace = 0s;/);
  t.throws(() => RENDERERS.varnish(input({ coalescing: false })), { message: /varnish always coalesces/ });
});

test('squid: memory only, the chosen removal policy for memory and disk, collapsed forwarding, manager closed', (t) => {
  const render = (policy: string, more: Partial<CacheServerInput> = {}) => RENDERERS.squid(input({ policy, ...more })).files['squid.conf']!;
  const conf = render('lru');
  t.deepEqual(lines(conf, /^cache_mem /), [`cache_mem ${24 * MiB + 12345} bytes`]);
  t.deepEqual(lines(conf, /^cache_dir /), []);
  t.deepEqual(lines(conf, /^memory_replacement_policy /), ['memory_replacement_policy lru']);
  t.deepEqual(lines(render('gdsf'), /_replacement_policy /), ['memory_replacement_policy heap GDSF', 'cache_replacement_policy heap GDSF']);
  t.deepEqual(lines(render('lfuda'), /^memory_replacement_policy /), ['memory_replacement_policy heap LFUDA']);
  t.deepEqual(lines(conf, /^collapsed_forwarding /), ['collapsed_forwarding on']);
  t.deepEqual(lines(render('lru', { coalescing: false }), /^collapsed_forwarding /), ['collapsed_forwarding off']);
  t.deepEqual(lines(render('lru', { serveStale: false }), /^max_stale /), ['max_stale 0 seconds']);
  t.deepEqual(lines(conf, /^http_access /), ['http_access deny manager', 'http_access allow loopback', 'http_access deny all']);
  t.regex(conf, /^cache_peer 127\.0\.0\.1 parent 18081 0 .*originserver/m);
  t.deepEqual(lines(conf, /^http_port /), ['http_port 127.0.0.1:18080 accel defaultsite=127.0.0.1 no-vhost']);
});

test('trafficserver: RAM cache algorithm and size, disk cache of the same budget, read-while-writer, loopback only', (t) => {
  const records = (more: Partial<CacheServerInput> = {}) => RENDERERS.trafficserver(input(more)).files['etc/records.config']!;
  const value = (text: string, name: string) => new RegExp(`^CONFIG ${name.replace(/\./g, '\\.')} \\S+ (.*)$`, 'm').exec(text)?.[1];
  t.is(value(records({ policy: 'clfus' }), 'proxy.config.cache.ram_cache.algorithm'), '0');
  t.is(value(records({ policy: 'lru' }), 'proxy.config.cache.ram_cache.algorithm'), '1');
  t.is(value(records(), 'proxy.config.cache.ram_cache.size'), String(24 * MiB + 12345));
  t.is(value(records(), 'proxy.config.cache.enable_read_while_writer'), '1');
  t.is(value(records({ coalescing: false }), 'proxy.config.cache.enable_read_while_writer'), '0');
  t.is(value(records({ serveStale: false }), 'proxy.config.http.cache.max_stale_age'), '0');
  t.is(value(records(), 'proxy.config.http.server_ports'), '18080:ip-in=127.0.0.1');
  t.is(value(records(), 'proxy.config.admin.user_id'), '#-1');
  t.is(value(records({ user: 'trafficserver' }), 'proxy.config.admin.user_id'), 'trafficserver');
  const { files } = RENDERERS.trafficserver(input({ storageDir: '/dev/shm/y' }));
  t.is(files['etc/storage.config'], `/dev/shm/y/cache ${24 * MiB + 12345}\n`);
  t.is(files['etc/remap.config'], 'map / http://127.0.0.1:18081/\n');
  t.regex(files['runroot.yaml']!, /^sysconfdir: \/tmp\/cdn-lab-x\/edge-0\/etc$/m);
  t.throws(() => RENDERERS.trafficserver(input({ cacheBytes: 8 * MiB })), { message: /at least 16 MiB/ });
});

test('each renderer refuses a policy its server does not have, naming the ones it has', (t) => {
  for (const software of CACHE_SERVERS) {
    const error = t.throws(() => RENDERERS[software](input({ policy: 's3fifo' })));
    t.is(error?.message, `${software} has no replacement policy "s3fifo"; its policies: ${SERVER_POLICIES[software].join(', ')}`);
  }
  t.throws(() => RENDERERS.nginx(input({ listenPort: 70000 })), { message: /listen port must be 1-65535/ });
  t.throws(() => RENDERERS.squid(input({ dir: 'relative/dir' })), { message: /dir must be an absolute path/ });
});

test('hit headers: each server\'s own verdict is read the way it writes it', (t) => {
  const get = (headers: Record<string, string>) => (name: string) => headers[name];
  t.true(servedFromServerCache('nginx', get({ 'x-cache-status': 'HIT' })));
  t.true(servedFromServerCache('nginx', get({ 'x-cache-status': 'UPDATING' })));
  t.false(servedFromServerCache('nginx', get({ 'x-cache-status': 'MISS' })));
  t.true(servedFromServerCache('varnish', get({ 'x-cache': 'HIT' })));
  t.false(servedFromServerCache('varnish', get({ 'x-cache': 'MISS' })));
  t.true(servedFromServerCache('squid', get({ 'x-cache': 'HIT from edge-0' })));
  t.false(servedFromServerCache('squid', get({ 'x-cache': 'MISS from edge-0' })));
  t.true(servedFromServerCache('trafficserver', get({ via: 'http/1.1 traffic_server (ApacheTrafficServer/9.2.9 [cRs f ])' })));
  t.true(servedFromServerCache('trafficserver', get({ via: 'http/1.1 traffic_server (ApacheTrafficServer/9.2.9 [cHs f ])' })));
  t.false(servedFromServerCache('trafficserver', get({ via: 'http/1.1 traffic_server (ApacheTrafficServer/9.2.9 [cMsSfW])' })));
});

// Each rendered config checked by the server itself, for every policy it has, and a broken one
// refused (so the check can fail).
for (const software of CACHE_SERVERS) {
  const found = installed[software]!;
  // Skipped where the server is not installed, except under CI, which installs it (.ci/run): there it runs and fails.
  const checked = 'path' in found || process.env.CI ? test : test.skip;
  if ('missing' in found) process.stderr.write(`cache-servers.test.ts: ${found.missing}: its config is not checked\n`);
  const user = serverUser(software);
  const inFolder = async (run: (dir: string) => Promise<void>) => {
    const dir = await mkdtemp(path.join(os.tmpdir(), `cdn-lab-check-${software}-`));
    try {
      await run(dir);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  };
  for (const policy of SERVER_POLICIES[software]) {
    checked(`${software} accepts its rendered config (policy ${policy})`, (t) =>
      inFolder(async (dir) => {
        const rendered = RENDERERS[software](input({ policy, dir, ...(user ? { user } : {}) }));
        await t.notThrowsAsync(checkRenderedServer(software, rendered, dir));
      }),
    );
  }
  checked(`${software} refuses its config with a line of nonsense in it`, (t) =>
    inFolder(async (dir) => {
      const rendered = RENDERERS[software](input({ dir, ...(user ? { user } : {}) }));
      const main = { nginx: 'nginx.conf', varnish: 'edge.vcl', squid: 'squid.conf', trafficserver: 'etc/remap.config' }[software]; // verify_config checks remap.config, not records.config names (the live test does)
      const broken = { ...rendered, files: { ...rendered.files, [main]: `${rendered.files[main]}\nthis_is_not_a_directive on;\n` } };
      await t.throwsAsync(checkRenderedServer(software, broken, dir));
    }),
  );
}
