// Apache Traffic Server as an edge (reverse proxy): a pure renderer from the edge's settings to a
// private runroot (runroot.yaml naming every folder inside the instance's own), records.config,
// remap.config, storage.config and ip_allow.yaml, and traffic_server's command line.
import path from 'node:path';
import { checkCommonInput, type CacheServerInput, type RenderedServer } from './cache-server.ts';

/** proxy.config.cache.ram_cache.algorithm: 0 is CLFUS (clocked least frequently used by size), 1 LRU. */
export const TRAFFICSERVER_RAM_CACHE_ALGORITHMS: Record<string, number> = { clfus: 0, lru: 1 };

/**
 * Traffic Server always has a disk cache; its RAM cache sits in front. Both get the byte budget,
 * so what fits is bounded by the disk cache (which overwrites cyclically, oldest write first), and
 * the RAM-cache algorithm decides which hits are served without a disk read.
 */
export const TRAFFICSERVER_MIN_STORAGE_BYTES = 16 * 1024 * 1024;

/** Config files Traffic Server reads at start; those not rendered are written empty. */
const EMPTY_FILES = ['plugin.config', 'volume.config', 'hosting.config', 'parent.config', 'cache.config', 'logging.yaml', 'sni.yaml', 'ssl_multicert.config', 'splitdns.config', 'socks.config', 'strategies.yaml'];

export function renderTrafficServer(input: CacheServerInput): RenderedServer {
  checkCommonInput(input, 'trafficserver');
  if (input.cacheBytes < TRAFFICSERVER_MIN_STORAGE_BYTES) {
    throw new TypeError(`trafficserver ${input.id}: cacheBytes must be at least 16 MiB (its smallest working disk cache), got ${input.cacheBytes}`);
  }
  const p = (name: string) => path.join(input.dir, name);
  const storage = path.join(input.storageDir ?? input.dir, 'cache');
  const timeoutS = Math.max(1, Math.ceil(input.upstreamTimeoutMs / 1000));
  type Record_ = readonly [string, 'INT' | 'STRING' | 'FLOAT', string | number];
  const records: Record_[] = [
    ['proxy.config.http.server_ports', 'STRING', `${input.listenPort}:ip-in=127.0.0.1`],
    // Started as root it must switch user (it refuses to serve as root); '#-1' keeps the current one.
    ['proxy.config.admin.user_id', 'STRING', input.user ?? '#-1'],
    ['proxy.config.reverse_proxy.enabled', 'INT', 1],
    ['proxy.config.url_remap.remap_required', 'INT', 1],
    ['proxy.config.http.cache.http', 'INT', 1],
    ['proxy.config.cache.ram_cache.size', 'INT', input.cacheBytes],
    ['proxy.config.cache.ram_cache.algorithm', 'INT', TRAFFICSERVER_RAM_CACHE_ALGORITHMS[input.policy]!],
    ['proxy.config.cache.ram_cache_cutoff', 'INT', input.maxObjectBytes],
    // Read-while-writer (coalescing) needs all four of these (Traffic Server's docs), max_doc_size 0
    // included: with coalescing there is no object size limit. Readers that find the write lock
    // taken retry the cache every 10 ms for up to the upstream timeout.
    ...(input.coalescing
      ? ([
          ['proxy.config.cache.enable_read_while_writer', 'INT', 1],
          ['proxy.config.http.background_fill_active_timeout', 'INT', 0],
          ['proxy.config.http.background_fill_completed_threshold', 'FLOAT', '0.000000'],
          ['proxy.config.cache.max_doc_size', 'INT', 0],
          ['proxy.config.http.cache.max_open_read_retries', 'INT', Math.ceil(input.upstreamTimeoutMs / 10)],
          ['proxy.config.http.cache.open_read_retry_time', 'INT', 10],
        ] satisfies Record_[])
      : ([
          ['proxy.config.cache.enable_read_while_writer', 'INT', 0],
          ['proxy.config.cache.max_doc_size', 'INT', input.maxObjectBytes],
          ['proxy.config.http.cache.max_open_read_retries', 'INT', -1],
        ] satisfies Record_[])),
    // Stale content is served when the origin fails, up to this age (Traffic Server 9 has no stale-while-revalidate).
    ['proxy.config.http.cache.max_stale_age', 'INT', input.serveStale ? 604800 : 0],
    ['proxy.config.http.insert_response_via_str', 'INT', 2],
    ['proxy.config.http.connect_attempts_timeout', 'INT', timeoutS],
    ['proxy.config.http.transaction_no_activity_timeout_out', 'INT', timeoutS],
    ['proxy.config.log.logging_enabled', 'INT', 0],
    ['proxy.config.net.connections_throttle', 'INT', 10000],
    // One event thread, as the other servers get one worker.
    ['proxy.config.exec_thread.autoconfig', 'INT', 0],
    ['proxy.config.exec_thread.limit', 'INT', 1],
    ['proxy.config.diags.debug.enabled', 'INT', 0],
  ];
  const runroot = [
    `prefix: ${input.dir}`,
    'exec_prefix: /usr',
    'bindir: /usr/bin',
    'sbindir: /usr/sbin',
    'includedir: /usr/include',
    'libdir: /usr/lib/trafficserver',
    'libexecdir: /usr/lib/trafficserver/modules',
    `sysconfdir: ${p('etc')}`,
    `datadir: ${p('data')}`,
    `localstatedir: ${p('var')}`,
    `runtimedir: ${p('run')}`,
    `logdir: ${p('log')}`,
    `cachedir: ${storage}`,
    '',
  ].join('\n');
  const ipAllow = [
    'ip_allow:',
    '  - apply: in',
    '    ip_addrs: 127.0.0.0/8',
    '    action: allow',
    '    methods: ALL',
    '  - apply: in',
    '    ip_addrs: 0/0',
    '    action: deny',
    '    methods: ALL',
    '',
  ].join('\n');
  const files: Record<string, string> = {
    'runroot.yaml': runroot,
    'etc/records.config': `# Rendered by infra/src/render/trafficserver.ts for ${input.id} (policy: ${input.policy}). Do not edit by hand.\n${records.map(([name, type, value]) => `CONFIG ${name} ${type} ${value}`).join('\n')}\n`,
    'etc/remap.config': `map / http://${input.upstream.host}:${input.upstream.port}/\n`,
    'etc/storage.config': `${storage} ${input.cacheBytes}\n`,
    'etc/ip_allow.yaml': ipAllow,
    ...Object.fromEntries(EMPTY_FILES.map((name) => [`etc/${name}`, ''])),
  };
  const runrootArg = `--run-root=${p('runroot.yaml')}`;
  return { files, args: [runrootArg], checkArgs: [runrootArg, '-C', 'verify_config'], stopSignal: 'SIGTERM', readyPath: '/healthz' };
}
