// nginx proxy_cache as an edge: a pure renderer from the edge's settings to nginx.conf and its
// command line. Everything lives under the instance's folder (pid, logs, temp files, the cache), so
// a run never touches /etc/nginx or /var/log/nginx.
import path from 'node:path';
import { checkCommonInput, type CacheServerInput, type RenderedServer } from './cache-server.ts';

/**
 * One worker (the lab's edge is one Node process). Caches by the origin's Cache-Control (max-age,
 * no-store, private; RFC 5861 windows too), evicts least recently used entries once the cache
 * manager finds it over max_size (counted in 4 KiB filesystem blocks, each entry a file with its
 * headers), coalesces misses with proxy_cache_lock, answers /healthz itself and marks every
 * response with X-Cache-Status.
 */
export function renderNginxCache(input: CacheServerInput): RenderedServer {
  checkCommonInput(input, 'nginx');
  const p = (name: string) => path.join(input.dir, name);
  const storage = path.join(input.storageDir ?? input.dir, 'cache');
  const timeout = `${Math.max(1, Math.ceil(input.upstreamTimeoutMs / 1000))}s`;
  const lines = [
    `# Rendered by infra/src/render/nginx-cache.ts for ${input.id} (policy: ${input.policy}). Do not edit by hand.`,
    ...(input.user ? [`user ${input.user};`] : []),
    'daemon off;',
    `worker_processes ${input.workers ?? 1};`,
    `pid ${p('nginx.pid')};`,
    `error_log ${p('error.log')} warn;`,
    '',
    'events {',
    '    worker_connections 4096;',
    '}',
    '',
    'http {',
    input.accessLog ? `    access_log ${input.accessLog} combined buffer=64k flush=1s;` : '    access_log off;',
    '    server_tokens off;',
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
    // 16 MiB of keys holds about 128,000 entries: the byte budget, not the key zone, is what binds.
    `    proxy_cache_path ${storage} levels=1:2 keys_zone=edge:16m max_size=${input.cacheBytes} inactive=7d use_temp_path=off;`,
    '',
    '    upstream upstream {',
    `        server ${input.upstream.host}:${input.upstream.port};`,
    '        keepalive 64;',
    '        keepalive_requests 1000000;',
    '    }',
    '',
    '    server {',
    `        listen 127.0.0.1:${input.listenPort};`,
    '',
    '        location = /healthz {',
    '            default_type application/json;',
    '            return 200 \'{"status":"ok"}\';',
    '        }',
    '',
    '        location / {',
    '            proxy_pass http://upstream;',
    '            proxy_http_version 1.1;',
    '            proxy_set_header Connection "";',
    `            proxy_connect_timeout ${timeout};`,
    `            proxy_read_timeout ${timeout};`,
    '            proxy_cache edge;',
    ...(input.coalescing
      ? ['            proxy_cache_lock on;', `            proxy_cache_lock_timeout ${timeout};`, `            proxy_cache_lock_age ${timeout};`]
      : ['            proxy_cache_lock off;']),
    ...(input.serveStale
      ? ['            proxy_cache_use_stale error timeout updating http_500 http_502 http_503 http_504;', '            proxy_cache_background_update on;']
      : ['            proxy_cache_use_stale off;']),
    '            proxy_cache_revalidate on;',
    '            add_header X-Cache-Status $upstream_cache_status always;',
    '        }',
    ...(input.staticResponse
      ? ['', `        location = ${input.staticResponse.path} {`, `            return 200 "${'x'.repeat(input.staticResponse.bytes)}";`, '        }']
      : []),
    '    }',
    '}',
    '',
  ];
  const configFile = p('nginx.conf');
  const base = ['-p', input.dir, '-e', p('error.log'), '-c', configFile];
  return { files: { 'nginx.conf': lines.join('\n') }, args: base, checkArgs: ['-t', '-q', ...base], stopSignal: 'SIGQUIT', readyPath: '/healthz' };
}
