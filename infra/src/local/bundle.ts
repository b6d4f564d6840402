// The local lab runs each service as one plain-JavaScript file that esbuild bundles from its
// TypeScript entry, instead of through tsx. On Node 20, tsx's loader hooks run on a thread of their
// own with a second V8 isolate, which cost every service process about 35 MiB of RSS (an edge
// idled at 103-108 MiB under tsx and 68 MiB bundled; loadtest/BENCH.md). Only the module format
// changes, not the code. Bundling all three services takes under a second; a process bundles each
// kind once. Bundles live in one folder per checkout, each written under a temporary name and
// renamed into place, so concurrent labs (parallel test files) never see a half-written file and
// nothing is left behind per process. The Docker images need neither: Node 24 strips the types.
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { build } from 'esbuild';
import { SERVICE_PROGRAMS, type ServiceKind } from '../plan.ts';
import { REPO_ROOT } from '../repo-root.ts';

/** A service's bundle could not be built (a syntax or import error in its sources). */
export class BundleError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BundleError';
  }
}

const built = new Map<string, Promise<string>>();

/** The path of `kind`'s bundle, built on first use in this process. */
export function serviceBundle(kind: ServiceKind): Promise<string> {
  return programBundle(kind, SERVICE_PROGRAMS[kind].entry);
}

/**
 * The bundle of the TypeScript program at `entry` (relative to the repository) as `<name>.mjs`,
 * built on first use in this process: the lab's services, and the bench's own reference programs.
 */
export function programBundle(name: string, entry: string): Promise<string> {
  let bundle = built.get(name);
  if (bundle === undefined) {
    bundle = bundleProgram(name, entry, path.join(bundleFolder(), `${name}.mjs`));
    built.set(name, bundle);
    // A failed build is not remembered: the next start tries again (after the sources are fixed).
    bundle.catch(() => built.delete(name));
  }
  return bundle;
}

/** Bundles `kind`'s entry (SERVICE_PROGRAMS) into `outfile` (written whole, then renamed); returns `outfile`. */
export function bundleService(kind: ServiceKind, outfile: string): Promise<string> {
  return bundleProgram(kind, SERVICE_PROGRAMS[kind].entry, outfile);
}

async function bundleProgram(name: string, entry: string, outfile: string): Promise<string> {
  const partial = `${outfile}.${process.pid}.partial`;
  try {
    await build({
      entryPoints: [path.join(REPO_ROOT, entry)],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      outfile: partial,
      // CommonJS dependencies bundled into an ES module still call require().
      banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
      logLevel: 'silent',
    });
    renameSync(partial, outfile);
  } catch (error) {
    throw new BundleError(`could not bundle ${name} (${entry}): ${(error as Error).message}`);
  }
  return outfile;
}

/** `<tmp>/cdn-lab-bundles-<hash of the checkout's path>`: one per checkout, shared by its processes. */
function bundleFolder(): string {
  const checkout = createHash('sha256').update(REPO_ROOT).digest('hex').slice(0, 12);
  const folder = path.join(os.tmpdir(), `cdn-lab-bundles-${checkout}`);
  mkdirSync(folder, { recursive: true });
  return folder;
}
