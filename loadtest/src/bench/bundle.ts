// The edge as one plain JavaScript file (esbuild), for measuring it without the tsx loader: the
// loader runs its own thread with its own V8 isolate (about 40 MiB of RSS), which production images
// (Node 24 type stripping) do not have. Only the module format and bundling change, not the code.
import path from 'node:path';
import { build } from 'esbuild';
import { REPO_ROOT } from '@cdn-lab/infra/local/lab';
import { EDGE_ENTRY } from './proxies.ts';

/** Bundles edge-node/src/main.ts into `<dir>/edge-bundle/main.mjs` and returns its path. */
export async function bundleEdge(dir: string): Promise<string> {
  const outfile = path.join(dir, 'edge-bundle', 'main.mjs');
  await build({
    entryPoints: [path.join(REPO_ROOT, EDGE_ENTRY)],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    // CommonJS dependencies bundled into an ES module still call require().
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
    logLevel: 'warning',
  });
  return outfile;
}
