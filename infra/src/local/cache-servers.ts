// Runs a real cache server (nginx, Varnish, Squid, Traffic Server) as one of the lab's edges: its
// config rendered into a private temp folder, the program started in the foreground as our child
// (through infra/src/local/processes.ts, as the bench starts nginx and Varnish), waited for over
// HTTP, and stopped with its own graceful signal, its folders removed after it.
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CacheServerPlan } from '../plan.ts';
import { SERVER_PROGRAMS, type CacheServerInput, type CacheServerSoftware, type RenderedServer } from '../render/cache-server.ts';
import { renderNginxCache } from '../render/nginx-cache.ts';
import { renderSquid } from '../render/squid.ts';
import { renderTrafficServer } from '../render/trafficserver.ts';
import { renderVarnish } from '../render/varnish.ts';
import { findExecutable, readProcessTree, runToEnd, startProgram, stopProcess, waitForHttp } from './processes.ts';

export const RENDERERS: Record<CacheServerSoftware, (input: CacheServerInput) => RenderedServer> = {
  nginx: renderNginxCache,
  varnish: renderVarnish,
  squid: renderSquid,
  trafficserver: renderTrafficServer,
};

/** The server's program, or a sentence saying it is not installed and which package has it. */
export async function findCacheServer(software: CacheServerSoftware): Promise<{ path: string } | { missing: string }> {
  const { program, debianPackage } = SERVER_PROGRAMS[software];
  const found = await findExecutable(program);
  return found ? { path: found } : { missing: `${software}: ${program} is not installed (apt-get install ${debianPackage})` };
}

/**
 * Who the server runs as when we are root. Squid and Traffic Server refuse to serve as root and
 * switch to their Debian package's user, which must then own the instance folder; nginx keeps
 * root for its worker (the folder is ours); varnishd drops to its own users by itself.
 */
const ROOT_USERS: Record<CacheServerSoftware, string[] | undefined> = {
  nginx: ['root'],
  varnish: undefined,
  squid: ['proxy', 'nobody'],
  trafficserver: ['trafficserver', 'nobody'],
};

function userIds(name: string): { uid: number; gid: number } | undefined {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    return undefined;
  }
}

/** The user a server should switch to, with its ids (undefined: not root, nothing to switch). */
function runAs(software: CacheServerSoftware): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ROOT_USERS[software] ?? []) {
    const ids = userIds(name);
    if (ids) return { name, ...ids };
  }
  return undefined;
}

/** Gives a folder tree to `owner` (only as root, only our own temp folders). */
function chownTree(dir: string, owner: { uid: number; gid: number }): void {
  execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dir]);
}

/** The servers' own logs inside their folder, whose tails go into a start-up error before it is removed. */
const SERVER_LOGS = ['error.log', 'cache.log', 'log/diags.log', 'log/traffic.out'];

async function logTails(dir: string): Promise<string> {
  const tails = await Promise.all(
    SERVER_LOGS.map(async (name) => {
      const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
      return text ? `--- ${name} ---\n${text.slice(-1500)}` : '';
    }),
  );
  return tails.filter(Boolean).join('\n');
}

/**
 * Writes a rendered server's files into its folder with the sub-folders it expects, readable by
 * varnishd's unprivileged child and owned by the user Squid or Traffic Server switches to.
 */
async function writeServerFiles(software: CacheServerSoftware, rendered: RenderedServer, dir: string, storageDir: string | undefined, user: { uid: number; gid: number } | undefined): Promise<void> {
  for (const [name, text] of Object.entries(rendered.files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), text);
  }
  if (software === 'trafficserver') {
    for (const sub of ['data', 'var', 'run', 'log']) await mkdir(path.join(dir, sub), { recursive: true });
    await mkdir(path.join(storageDir ?? dir, 'cache'), { recursive: true });
  }
  await chmod(dir, 0o755);
  if (user && user.uid !== 0) for (const folder of [dir, ...(storageDir ? [storageDir] : [])]) chownTree(folder, user);
}

/** The user name a server switches to when we are root (undefined: it keeps the current user). */
export function serverUser(software: CacheServerSoftware): string | undefined {
  return runAs(software)?.name;
}

/**
 * The server's own verdict on a rendered config (`nginx -t`, `varnishd -C`, `squid -k parse`,
 * `traffic_server -C verify_config`): the files written into `dir` (existing, empty) as for a
 * start, then the check run. Resolves with its output; rejects with it when the server refuses.
 */
export async function checkRenderedServer(software: CacheServerSoftware, rendered: RenderedServer, dir: string, storageDir?: string): Promise<string> {
  const program = await findCacheServer(software);
  if ('missing' in program) throw new Error(program.missing);
  await writeServerFiles(software, rendered, dir, storageDir, runAs(software));
  const { stdout, stderr } = await runToEnd(program.path, rendered.checkArgs, { timeoutMs: 60_000 });
  return `${stdout}${stderr}`;
}

export interface StartCacheServerOptions {
  id: string;
  plan: CacheServerPlan;
  listenPort: number;
  upstream: { host: string; port: number };
  /** The server's stdout and stderr (its own logs stay in its folder, removed on stop). */
  logFile?: string;
  /** Kept for inspection instead of removed on stop (tests). */
  keepFolders?: boolean;
  readyTimeoutMs?: number;
}

export interface StartedCacheServer {
  child: ChildProcess;
  pid: number;
  /** The instance folder and, when the cache lives on tmpfs, the storage folder. */
  folders: string[];
  rendered: RenderedServer;
  /** Stops the server with its graceful signal (SIGKILL after `graceMs`) and removes its folders. */
  stop(graceMs?: number): Promise<void>;
}

/** Waits until none of `pids` exists, then SIGKILLs those still there after `timeoutMs`. */
async function waitGone(pids: number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let alive = pids;
  while (alive.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    alive = alive.filter((pid) => existsSync(`/proc/${pid}`));
  }
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Where a server's cache storage goes: tmpfs when there is one, for a memory-backed cache. */
const TMPFS = '/dev/shm';

export async function startCacheServer(options: StartCacheServerOptions): Promise<StartedCacheServer> {
  const { software } = options.plan;
  const program = await findCacheServer(software);
  if ('missing' in program) throw new Error(program.missing);
  const dir = await mkdtemp(path.join(os.tmpdir(), `cdn-lab-${software}-${options.id}-`));
  const folders = [dir];
  const removeFolders = () => (options.keepFolders ? Promise.resolve() : Promise.all(folders.map((f) => rm(f, { recursive: true, force: true }))).then(() => undefined));
  try {
    // nginx and Traffic Server keep their cache in files: on tmpfs those are memory-backed.
    let storageDir: string | undefined;
    if ((software === 'nginx' || software === 'trafficserver') && existsSync(TMPFS)) {
      storageDir = await mkdtemp(path.join(TMPFS, `cdn-lab-${software}-${options.id}-`));
      folders.push(storageDir);
    }
    const user = runAs(software);
    const rendered = RENDERERS[software]({
      id: options.id,
      listenPort: options.listenPort,
      upstream: options.upstream,
      cacheBytes: options.plan.cacheBytes,
      policy: options.plan.policy,
      coalescing: options.plan.coalescing,
      serveStale: options.plan.serveStale,
      maxObjectBytes: options.plan.maxObjectBytes,
      upstreamTimeoutMs: options.plan.upstreamTimeoutMs,
      dir,
      ...(storageDir ? { storageDir } : {}),
      ...(user ? { user: user.name } : {}),
    });
    await writeServerFiles(software, rendered, dir, storageDir, user);
    // If this process dies without stopping it (SIGKILL), the kernel sends the server SIGTERM
    // (setpriv --pdeathsig). Linux clears that on a change of user, so it holds for nginx and
    // varnishd's manager, not for Squid or Traffic Server started by root (they switch users).
    const setpriv = await findExecutable('setpriv');
    const command = setpriv ? { command: setpriv, args: ['--pdeathsig', 'TERM', '--', program.path, ...rendered.args] } : { command: program.path, args: rendered.args };
    const child = startProgram({ name: software, ...command, pinning: { taskset: undefined, cpu: undefined }, stopOnSignal: false, ...(options.logFile ? { logFile: options.logFile } : {}) });
    const stop = async (graceMs = 10_000) => {
      // Its own children (nginx's worker, varnishd's cache process, Traffic Server's crash-log
      // helper) may outlive it by a moment: wait for them, and kill any still there after 5 s.
      const tree = (child.pid !== undefined ? await readProcessTree(child.pid) : undefined)?.pids ?? [];
      await stopProcess(child, rendered.stopSignal, graceMs);
      await waitGone(tree.slice(1), 5000);
      await removeFolders();
    };
    const where = options.logFile ? `${options.logFile} and ${dir}` : dir;
    try {
      await waitForHttp(`http://127.0.0.1:${options.listenPort}${rendered.readyPath}`, child, `${software} ${options.id}`, options.readyTimeoutMs ?? 30_000, where);
    } catch (error) {
      await stopProcess(child, 'SIGKILL');
      const tails = await logTails(dir);
      throw new Error(`${(error as Error).message}${tails ? `\n${tails}` : ''}`);
    }
    return { child, pid: child.pid!, folders, rendered, stop };
  } catch (error) {
    await removeFolders();
    throw error;
  }
}
