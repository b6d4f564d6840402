// nginx as a caching reverse proxy for the bench: the lab's nginx edge renderer
// (infra/src/render/nginx-cache.ts) with the bench's settings, plus a 1 KiB answer nginx makes
// itself. Every path lives under one prefix folder of our own, so a run never touches /etc/nginx
// or /var/log/nginx and leaves nothing behind once the folder is removed.
import { renderNginxCache } from '@cdn-lab/infra/render/nginx-cache';
import type { RenderedServer } from '@cdn-lab/infra/render/cache-server';

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

/** A 1 KiB answer nginx makes itself: what the load generator achieves against the cheapest server here. */
export const STATIC_PATH = '/__bench_static_1k';

/**
 * nginx.conf and command line for one worker (the bench pins it to one core) that caches by the
 * origin's Cache-Control, coalesces concurrent misses with proxy_cache_lock, keeps connections to
 * the origin alive, writes its access log through a buffer (or none) and raises keepalive_requests on both sides (nginx's
 * default of 1000 would make wrk reconnect every 1000 requests, a handicap neither Varnish nor Node
 * has). No tcp_nopush: with sendfile on loopback it corks the last partial segment of each
 * response and cut 64 KiB hits from about 13 900/s to 1 240/s in a measurement here (BENCH.md).
 */
export function renderBenchNginx(options: NginxBenchOptions): RenderedServer {
  return renderNginxCache({
    id: 'bench',
    listenPort: options.port,
    upstream: { host: '127.0.0.1', port: options.originPort },
    cacheBytes: options.cacheBytes,
    policy: 'lru',
    coalescing: true,
    serveStale: false,
    maxObjectBytes: options.cacheBytes,
    upstreamTimeoutMs: 10_000,
    dir: options.prefix,
    ...(options.user ? { user: options.user } : {}),
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.accessLog ? { accessLog: options.accessLog } : {}),
    staticResponse: { path: STATIC_PATH, bytes: 1024 },
  });
}
