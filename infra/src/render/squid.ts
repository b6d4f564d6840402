// Squid as an edge (reverse proxy, "accelerator" mode): a pure renderer from the edge's settings
// to squid.conf and its command line. Memory only: cache_mem is the byte budget and there is no
// cache_dir, so memory_replacement_policy is the policy that evicts.
import path from 'node:path';
import { checkCommonInput, type CacheServerInput, type RenderedServer } from './cache-server.ts';

/** The lab's policy names for Squid's removal policies. */
export const SQUID_POLICIES: Record<string, string> = { lru: 'lru', gdsf: 'heap GDSF', lfuda: 'heap LFUDA' };

export function renderSquid(input: CacheServerInput): RenderedServer {
  checkCommonInput(input, 'squid');
  const p = (name: string) => path.join(input.dir, name);
  const policy = SQUID_POLICIES[input.policy]!;
  const seconds = `${Math.max(1, Math.ceil(input.upstreamTimeoutMs / 1000))} seconds`;
  const lines = [
    `# Rendered by infra/src/render/squid.ts for ${input.id} (policy: ${input.policy}). Do not edit by hand.`,
    `http_port 127.0.0.1:${input.listenPort} accel defaultsite=${input.upstream.host} no-vhost`,
    `cache_peer ${input.upstream.host} parent ${input.upstream.port} 0 no-query no-digest no-netdb-exchange originserver name=upstream connect-timeout=${Math.max(1, Math.ceil(input.upstreamTimeoutMs / 1000))}`,
    'cache_peer_access upstream allow all',
    'never_direct allow all',
    '',
    '# Clients on loopback only; the cache manager (squid-internal-mgr) answers no one.',
    'acl loopback src 127.0.0.0/8',
    'http_access deny manager',
    'http_access allow loopback',
    'http_access deny all',
    '',
    '# Memory only: no cache_dir.',
    `cache_mem ${input.cacheBytes} bytes`,
    `maximum_object_size_in_memory ${input.maxObjectBytes} bytes`,
    `maximum_object_size ${input.maxObjectBytes} bytes`,
    `memory_replacement_policy ${policy}`,
    `cache_replacement_policy ${policy}`,
    `collapsed_forwarding ${input.coalescing ? 'on' : 'off'}`,
    // Squid serves stale on upstream failure up to max_stale (it has no stale-while-revalidate).
    ...(input.serveStale ? [] : ['max_stale 0 seconds']),
    '',
    `connect_timeout ${seconds}`,
    `read_timeout ${seconds}`,
    'shutdown_lifetime 1 seconds',
    'client_persistent_connections on',
    'server_persistent_connections on',
    'max_filedescriptors 4096',
    'workers 1',
    ...(input.user ? [`cache_effective_user ${input.user}`] : []),
    `visible_hostname ${input.id}`,
    'httpd_suppress_version_string on',
    'pinger_enable off',
    'netdb_filename none',
    `pid_filename ${p('squid.pid')}`,
    `cache_log ${p('cache.log')}`,
    'access_log none',
    'cache_store_log none',
    `coredump_dir ${input.dir}`,
    '',
  ];
  const configFile = p('squid.conf');
  // -N: foreground, one process (no SMP kids), our child; SIGTERM shuts it down.
  return { files: { 'squid.conf': lines.join('\n') }, args: ['-N', '-f', configFile], checkArgs: ['-k', 'parse', '-f', configFile], stopSignal: 'SIGTERM', readyPath: '/healthz' };
}
