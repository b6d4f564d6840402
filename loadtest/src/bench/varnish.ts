// Varnish as a caching reverse proxy for the bench: a pure VCL renderer and varnishd's command line.
// The VCL only names the backend and marks hits; everything else is Varnish's built-in VCL, which
// honours the origin's Cache-Control (max-age, s-maxage; no-store/private become hit-for-miss) and
// coalesces concurrent misses on its waiting list.

export interface VarnishBenchOptions {
  /** Listen port on 127.0.0.1. */
  port: number;
  /** The VCL file varnishd loads. */
  vclFile: string;
  /** varnishd's working directory (-n); varnishd creates it and must be able to write there. */
  workDir: string;
  /** Size of the malloc storage. */
  storageBytes: number;
}

/** VCL 4.1 with the origin as the only backend and an X-Cache: HIT|MISS header for checks. */
export function renderVcl(originPort: number, originHost = '127.0.0.1'): string {
  return [
    'vcl 4.1;',
    '# Rendered by loadtest/src/bench/varnish.ts for `npm run bench`; the built-in VCL does the rest.',
    '',
    'backend origin {',
    `    .host = "${originHost}";`,
    `    .port = "${originPort}";`,
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
}

/**
 * varnishd in the foreground (-F, so it is our child and stops on SIGTERM) with malloc storage,
 * its own -n folder, and no management listener (-T none): nothing outside the bench can talk to it.
 */
export function varnishdArgs(options: VarnishBenchOptions): string[] {
  return [
    '-F',
    '-a', `127.0.0.1:${options.port}`,
    '-f', options.vclFile,
    '-s', `malloc,${Math.max(1, Math.ceil(options.storageBytes / (1024 * 1024)))}m`,
    '-n', options.workDir,
    '-T', 'none',
  ];
}

/** varnishd's compile-only check of a VCL file (prints the generated C on success). */
export function varnishdCompileArgs(vclFile: string, workDir: string): string[] {
  return ['-C', '-f', vclFile, '-n', workDir];
}
