// The local lab runs each service as one plain-JavaScript file that esbuild bundles from its
// TypeScript entry, instead of through tsx. On Node 20, tsx's loader hooks run on a thread of their
// own with a second V8 isolate, which cost every service process about 35 MiB of RSS (an edge
// idled at 103-108 MiB under tsx and 68 MiB bundled; loadtest/BENCH.md). Only the module format
// changes, not the code. Bundling all three services takes under a second; a process bundles each
// kind once, into a temporary folder it removes at exit. The Docker images need neither: Node 24
// strips the types itself.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { SERVICE_PROGRAMS, type ServiceKind } from '../plan.ts';
import { REPO_ROOT } from './repo-root.ts';

/** A service's bundle could not be built (a syntax or import error in its sources). */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const built = new Map<ServiceKind, Promise<string>>();
let folder: string | undefined;

/** The path of `kind`'s bundle, built on first use in this process. */
export function serviceBundle(kind: ServiceKind): Promise<string> {
  let bundle = built.get(kind);
  if (bundle === undefined) {
    bundle = bundleService(kind, path.join(bundleFolder(), `${kind}.mjs`));
    built.set(kind, bundle);
    // A failed build is not remembered: the next start tries again (after the sources are fixed).
    bundle.catch(() => built.delete(kind));
  }
  return bundle;
}

/** Bundles `kind`'s entry (SERVICE_PROGRAMS) into `outfile`; returns `outfile`. */
export async function bundleService(kind: ServiceKind, outfile: string): Promise<string> {
  const entry = path.join(REPO_ROOT, SERVICE_PROGRAMS[kind].entry);
  try {
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile,
      // CommonJS dependencies bundled into an ES module still call require().
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
  } catch (error) {
    throw new BundleError(`could not bundle ${kind} (${SERVICE_PROGRAMS[kind].entry}): ${(error as Error).message}`);
  }
  return outfile;
}

function bundleFolder(): string {
  if (folder === undefined) {
    const created = mkdtempSync(path.join(os.tmpdir(), 'cdn-lab-bundles-'));
    process.once('exit', () => rmSync(created, { recursive: true, force: true }));
    folder = created;
  }
  return folder;
}
