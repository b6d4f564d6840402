// nginx as a caching reverse proxy for the bench: a pure config renderer and its command line.
// Every path lives under one prefix folder of our own, so a run never touches /etc/nginx or
// /var/log/nginx and leaves nothing behind once the folder is removed.
import path from 'node:path';

export interface NginxBenchOptions {
  /** Folder of this instance: config, pid, error log, temp files and the cache itself. */
  prefix: string;
  /** Listen port on 127.0.0.1. */
  port: number;
  /** The origin's port on 127.0.0.1. */
  originPort: number;
  /** proxy_cache_path max_size (bytes on disk). */
  cacheBytes: number;
  /** worker_processes (default 1); the cache is shared by all of them. */
  workers?: number;
  /**
   * Access log file, written through a 64 KiB buffer flushed at least every second (nginx's best
   * honest setting for logging every request); without it, `access_log off`.
   */
  accessLog?: string;
  /**
   * `user` directive: when nginx starts as root its worker would run as `nobody`, which cannot write
   * our private temp folder; the bench then passes the current user (root).
   */
  user?: string;
}

const MiB = 1024 * 1024;

/** A 1 KiB answer nginx makes itself: what the load generator achieves against the cheapest server here. */
export const STATIC_PATH = '/__bench_static_1k';

/**
 * nginx.conf for one worker (the bench pins it to one core) that caches by the origin's
 * Cache-Control (nginx honours max-age, no-store and private unless told otherwise;
 * proxy_cache_valid only applies when the origin says nothing), coalesces concurrent misses with
 * proxy_cache_lock, keeps connections to the origin alive, and writes its access log (the default
 * `combined` format) through a buffer, or none.
 * keepalive_requests is raised on both sides: nginx's default of 1000 would make wrk reconnect
 * every 1000 requests, a handicap neither Varnish nor Node has. No tcp_nopush: with sendfile on
 * loopback it corks the last partial segment of each response and cut 64 KiB hits from about
 * 13 900/s to 1 240/s in a measurement here (BENCH.md).
 */
export function renderNginxConfig(options: NginxBenchOptions): string {
  const p = (name: string) => path.join(options.prefix, name);
  const cacheMiB = Math.max(1, Math.ceil(options.cacheBytes / MiB));
  const lines = [
    '# Rendered by loadtest/src/bench/nginx.ts for `npm run bench`.',
    ...(options.user ? [`user ${options.user};`] : []),
    'daemon off;',
    `worker_processes ${options.workers ?? 1};`,
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    '',
    'events {',
    '    worker_connections 4096;',
    '}',
    '',
    'http {',
    options.accessLog ? `    access_log ${options.accessLog} combined buffer=64k flush=1s;` : '    access_log off;',
    '    default_type application/octet-stream;',
    '    sendfile on;',
    '    keepalive_timeout 75s;',
    '    keepalive_requests 1000000;',
    `    client_body_temp_path ${p('client_body_temp')};`,
    `    proxy_temp_path ${p('proxy_temp')};`,
    `    fastcgi_temp_path ${p('fastcgi_temp')};`,
    `    uwsgi_temp_path ${p('uwsgi_temp')};`,
    `    scgi_temp_path ${p('scgi_temp')};`,
    '',
    `    proxy_cache_path ${p('cache')} levels=1:2 keys_zone=bench:16m max_size=${cacheMiB}m inactive=1d use_temp_path=off;`,
    '',
    '    upstream origin {',
    `        server 127.0.0.1:${options.originPort};`,
    '        keepalive 64;',
    '        keepalive_requests 1000000;',
    '    }',
    '',
    '    server {',
    `        listen 127.0.0.1:${options.port};`,
    '',
    '        location / {',
    '            proxy_pass http://origin;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Connection "";',
    '            proxy_cache bench;',
    '            proxy_cache_lock on;',
    '            proxy_cache_lock_timeout 10s;',
    '            proxy_cache_valid 200 301 10m;',
    '            proxy_cache_valid 404 10s;',
    '            add_header X-Cache-Status $upstream_cache_status always;',
    '        }',
    '',
    '        # The load generator\'s ceiling: 1 KiB from nginx itself, no cache, no origin.',
    `        location = ${STATIC_PATH} {`,
    `            return 200 "${'x'.repeat(1024)}";`,
    '        }',
    '    }',
    '}',
    '',
  ];
  return lines.join('\n');
}

/** nginx's command line for a rendered config: `-e` keeps even the pre-config error log in the prefix. */
export function nginxArgs(prefix: string, configFile: string, { test = false } = {}): string[] {
  return [...(test ? ['-t', '-q'] : []), '-p', prefix, '-e', path.join(prefix, 'error.log'), '-c', configFile];
}
