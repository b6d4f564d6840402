// Varnish as an edge: a pure renderer from the edge's settings to VCL and varnishd's command line.
// The VCL names the upstream, marks hits, answers /healthz and keeps objects over the size limit out
// of the cache; the built-in VCL does the rest (it honours the origin's Cache-Control, turns
// no-store/private into hit-for-miss, and coalesces concurrent misses on its waiting list).
import path from 'node:path';
import { checkCommonInput, type CacheServerInput, type RenderedServer } from './cache-server.ts';

export function renderVarnish(input: CacheServerInput): RenderedServer {
  checkCommonInput(input, 'varnish');
  if (!input.coalescing) throw new TypeError('varnish always coalesces concurrent misses on its waiting list; coalescing: false cannot be honoured');
  const seconds = `${Math.max(1, Math.ceil(input.upstreamTimeoutMs / 1000))}s`;
  const vcl = [
    'vcl 4.1;',
    `# Rendered by infra/src/render/varnish.ts for ${input.id} (policy: ${input.policy}). Do not edit by hand.`,
    'import std;',
    '',
    'backend upstream {',
    `    .host = "${input.upstream.host}";`,
    `    .port = "${input.upstream.port}";`,
    `    .connect_timeout = ${seconds};`,
    `    .first_byte_timeout = ${seconds};`,
    `    .between_bytes_timeout = ${seconds};`,
    '}',
    '',
    'sub vcl_recv {',
    '    if (req.url == "/healthz") {',
    '        return (synth(200, "OK"));',
    '    }',
    '}',
    '',
    'sub vcl_backend_response {',
    `    if (std.integer(beresp.http.Content-Length, 0) > ${input.maxObjectBytes}) {`,
    '        # Larger than the edge stores: hit-for-miss, streamed through.',
    '        set beresp.uncacheable = true;',
    '        set beresp.ttl = 120s;',
    '        return (deliver);',
    '    }',
    ...(input.serveStale ? [] : ['    # No stale serving: no grace (stale-while-revalidate) and nothing kept past its TTL.', '    set beresp.grace = 0s;', '    set beresp.keep = 0s;']),
    '}',
    '',
    'sub vcl_deliver {',
    '    if (obj.hits > 0) {',
    '        set resp.http.X-Cache = "HIT";',
    '    } else {',
    '        set resp.http.X-Cache = "MISS";',
    '    }',
    '}',
    '',
  ].join('\n');
  const vclFile = path.join(input.dir, 'edge.vcl');
  const workDir = path.join(input.dir, 'work');
  // -F: foreground, our child, stops on SIGTERM; -T none: no management port; malloc: memory only.
  // nuke_limit: Varnish fails a fetch (mid-body, once streaming) that would need more than this
  // many LRU evictions to find room; the default 50 is too few for a 2 MiB object in a cache of
  // small ones, so it is raised to evict as the other servers do.
  const args = ['-F', '-a', `127.0.0.1:${input.listenPort}`, '-f', vclFile, '-s', `malloc,${input.cacheBytes}`, '-n', workDir, '-T', 'none', '-p', 'nuke_limit=100000'];
  return { files: { 'edge.vcl': vcl }, args, checkArgs: ['-C', '-f', vclFile, '-n', workDir], stopSignal: 'SIGTERM', readyPath: '/healthz' };
}
