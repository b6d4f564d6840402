// Real cache software as the lab's edges (nginx proxy_cache, Varnish, Squid, Apache Traffic
// Server, from Debian's packages): what each supports, and one renderer per server that turns the
// topology's edge settings into that server's own config files and command line. Renderers are
// pure (text in, text out); infra/src/local/cache-servers.ts writes the files and runs the server.
import path from 'node:path';

/** The edge software a topology can run: the lab's own edge, or one of the real cache servers. */
export const EDGE_SOFTWARE = ['cdn-lab', 'nginx', 'varnish', 'squid', 'trafficserver'] as const;
export type EdgeSoftware = (typeof EDGE_SOFTWARE)[number];
export type CacheServerSoftware = Exclude<EdgeSoftware, 'cdn-lab'>;
export const CACHE_SERVERS = EDGE_SOFTWARE.filter((s): s is CacheServerSoftware => s !== 'cdn-lab');

/**
 * The replacement policies each server really has, as the topology's `edges.policy` names them.
 * nginx's cache manager removes the least recently used entries over max_size; Varnish nukes the
 * least recently used object when storage is full; Squid's memory cache takes lru, heap GDSF or heap
 * LFUDA (memory_replacement_policy); Traffic Server's RAM cache is CLFUS or LRU
 * (proxy.config.cache.ram_cache.algorithm) in front of its disk cache, which overwrites cyclically.
 */
export const SERVER_POLICIES: Record<CacheServerSoftware, readonly string[]> = {
  nginx: ['lru'],
  varnish: ['lru'],
  squid: ['lru', 'gdsf', 'lfuda'],
  trafficserver: ['lru', 'clfus'],
};

/** The Debian package and the program each server is started with. */
export const SERVER_PROGRAMS: Record<CacheServerSoftware, { program: string; debianPackage: string }> = {
  nginx: { program: 'nginx', debianPackage: 'nginx' },
  varnish: { program: 'varnishd', debianPackage: 'varnish' },
  squid: { program: 'squid', debianPackage: 'squid' },
  trafficserver: { program: 'traffic_server', debianPackage: 'trafficserver' },
};

/**
 * Where each server keeps its cache: memory only where the server allows it. nginx stores entries
 * as files (its keys live in shared memory), so the lab puts the cache folder on tmpfs
 * (/dev/shm) when there is one; Traffic Server always needs a disk cache behind its RAM cache, put
 * on tmpfs the same way.
 */
export const SERVER_STORAGE: Record<CacheServerSoftware, string> = {
  nginx: 'files (proxy_cache_path), on tmpfs when /dev/shm exists; keys in a shared-memory zone',
  varnish: 'memory only (-s malloc)',
  squid: 'memory only (cache_mem, no cache_dir)',
  trafficserver: 'RAM cache in front of a disk cache it cannot do without; the disk cache file on tmpfs when /dev/shm exists',
};

/** How each server is asked whether it served a response from its cache (its own header). */
export const SERVER_HIT_HEADERS: Record<CacheServerSoftware, string> = {
  nginx: 'X-Cache-Status: $upstream_cache_status (HIT, STALE, UPDATING, REVALIDATED count as served from cache)',
  varnish: 'X-Cache: HIT when obj.hits > 0 (waiting-list followers included), else MISS',
  squid: 'X-Cache: "HIT from …" (Squid\'s own header; collapsed followers say HIT once the object is in memory)',
  trafficserver: 'Via: the cache-lookup code of its [c…] field: H (fresh), R (fresh RAM hit) or S (stale served) count as hits',
};

/** Whether a response's headers say this server served it from its cache (SERVER_HIT_HEADERS). */
export function servedFromServerCache(software: CacheServerSoftware, header: (name: string) => string | undefined): boolean {
  switch (software) {
    case 'nginx':
      return /^(HIT|STALE|UPDATING|REVALIDATED)$/.test(header('x-cache-status') ?? '');
    case 'varnish':
      return header('x-cache') === 'HIT';
    case 'squid':
      return /^HIT\b/.test(header('x-cache') ?? '');
    case 'trafficserver':
      return /\[c[HRS]/.test(header('via') ?? '');
  }
}

/** Everything a renderer needs: the edge's settings from the topology and where it runs. */
export interface CacheServerInput {
  /** Service id (edge-0): named in the config's first line. */
  id: string;
  listenPort: number;
  /** Where misses go: the origin, or a parent (the shield) on 127.0.0.1 or a host name. */
  upstream: { host: string; port: number };
  cacheBytes: number;
  policy: string;
  /** One upstream fetch per key at a time. */
  coalescing: boolean;
  /** Serve stale content while revalidating / when the upstream fails. */
  serveStale: boolean;
  /** Largest response stored. */
  maxObjectBytes: number;
  upstreamTimeoutMs: number;
  /** The instance's private folder: config, pid, logs, cache (the lab removes it on stop). */
  dir: string;
  /** Folder for the cache storage itself (tmpfs for memory backing); defaults to `dir`. */
  storageDir?: string;
  /**
   * User the server's workers run as when started by root (Squid and Traffic Server refuse to
   * serve as root; nginx and Varnish then keep root so they can write `dir`). Unset: the current user.
   */
  user?: string;
  /**
   * A path the server answers itself with this many bytes, no cache, no upstream: the speed
   * bench's measure of its load generator's ceiling (loadtest/src/bench). nginx only.
   */
  staticResponse?: { path: string; bytes: number };
  /** worker_processes (default 1; nginx only): the speed bench's every-core runs. */
  workers?: number;
  /** Access log file written through a 64 KiB buffer flushed every second (nginx only); unset: none. */
  accessLog?: string;
}

/** A rendered server: the files to write (path relative to `dir`) and the command line. */
export interface RenderedServer {
  files: Record<string, string>;
  args: string[];
  /** The server's own config check: same program, these arguments; exit 0 means valid. */
  checkArgs: string[];
  /** Signal that stops it gracefully. */
  stopSignal: NodeJS.Signals;
  /** Path (relative to the server's listen URL) that answers once the server is up. */
  readyPath: string;
}

export function checkCommonInput(input: CacheServerInput, software: CacheServerSoftware): void {
  const port = (what: string, value: number) => {
    if (!Number.isInteger(value) || value < 1 || value > 65535) throw new TypeError(`${software} ${input.id}: ${what} must be 1-65535, got ${value}`);
  };
  port('listen port', input.listenPort);
  port('upstream port', input.upstream.port);
  if (!/^[A-Za-z0-9.-]+$/.test(input.upstream.host)) throw new TypeError(`${software} ${input.id}: upstream host "${input.upstream.host}" is not a host name or IPv4 address`);
  if (!SERVER_POLICIES[software].includes(input.policy)) {
    throw new TypeError(`${software} has no replacement policy "${input.policy}"; its policies: ${SERVER_POLICIES[software].join(', ')}`);
  }
  if (!(input.cacheBytes >= 1024 * 1024)) throw new TypeError(`${software} ${input.id}: cacheBytes must be at least 1 MiB, got ${input.cacheBytes}`);
  if (!/^\/[^\s"';{}]*$/.test(input.dir)) throw new TypeError(`${software} ${input.id}: dir must be an absolute path without spaces or quotes, got ${JSON.stringify(input.dir)}`);
  if (input.storageDir !== undefined && !/^\/[^\s"';{}]*$/.test(input.storageDir)) {
    throw new TypeError(`${software} ${input.id}: storageDir must be an absolute path without spaces or quotes, got ${JSON.stringify(input.storageDir)}`);
  }
  if (input.staticResponse && (software !== 'nginx' || !/^\/[A-Za-z0-9_/-]+$/.test(input.staticResponse.path))) {
    throw new TypeError(`${software} ${input.id}: a static response is for nginx only, on a plain path (got ${JSON.stringify(input.staticResponse.path)})`);
  }
  if (input.user !== undefined && !/^[a-z_][a-z0-9_-]*$/.test(input.user)) throw new TypeError(`${software} ${input.id}: user "${input.user}" is not a user name`);
  if (input.workers !== undefined && (software !== 'nginx' || !Number.isInteger(input.workers) || input.workers < 1 || input.workers > 256)) {
    throw new TypeError(`${software} ${input.id}: workers is for nginx only, an integer from 1 to 256 (got ${input.workers})`);
  }
  if (input.accessLog !== undefined && (software !== 'nginx' || !path.isAbsolute(input.accessLog) || /[\s;]/.test(input.accessLog))) {
    throw new TypeError(`${software} ${input.id}: accessLog is for nginx only, an absolute path without spaces or ';' (got ${JSON.stringify(input.accessLog)})`);
  }
}

