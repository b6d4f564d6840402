// Varnish as a caching reverse proxy for the bench: the lab's Varnish edge renderer
// (infra/src/render/varnish.ts) with the bench's settings. The VCL names the origin and marks hits;
// the built-in VCL does the rest (it honours the origin's Cache-Control, turns no-store/private into
// hit-for-miss, and coalesces concurrent misses on its waiting list).
import { renderVarnish } from '@cdn-lab/infra/render/varnish';
import type { RenderedServer } from '@cdn-lab/infra/render/cache-server';

export interface VarnishBenchOptions {
  /** Listen port on 127.0.0.1. */
  port: number;
  /** The origin's port on 127.0.0.1. */
  originPort: number;
  /** varnishd's folder: the VCL and its working directory (-n), readable by its unprivileged child. */
  dir: string;
  /** Size of the malloc storage; any object that fits is stored. */
  storageBytes: number;
}

/** VCL and varnishd's command line: foreground, loopback, malloc storage, no management port. */
export function renderBenchVarnish(options: VarnishBenchOptions): RenderedServer {
  return renderVarnish({
    id: 'bench',
    listenPort: options.port,
    upstream: { host: '127.0.0.1', port: options.originPort },
    cacheBytes: options.storageBytes,
    policy: 'lru',
    coalescing: true,
    serveStale: true,
    maxObjectBytes: options.storageBytes,
    upstreamTimeoutMs: 10_000,
    dir: options.dir,
  });
}
