// Child processes of the bench and of the lab's external cache servers: finding programs, pinning
// them to a core with taskset, forking the lab's Node services (ready over IPC), waiting for external
// servers, reading memory and CPU time, and stopping everything we started (also on Ctrl-C), never
// anything else.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { programBundle, serviceBundle } from './bundle.ts';
import { REPO_ROOT } from '../repo-root.ts';
import type { ServiceKind } from '../plan.ts';
import type { ReadyMessage } from '@cdn-lab/service-kit';

/** Directories searched besides PATH: nginx and varnishd live in sbin, which a non-root PATH may lack. */
const EXTRA_BIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of an executable on PATH (or in an sbin folder), or undefined. */
export async function findExecutable(name: string, pathVar = process.env.PATH ?? ''): Promise<string | undefined> {
  const dirs = [...pathVar.split(path.delimiter).filter(Boolean), ...EXTRA_BIN_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  return undefined;
}

/** `command args` run on a CPU (or a taskset list like "0,1") via `taskset -c` when both are given, else unchanged. */
export function pinned(command: string, args: string[], cpu: number | string | undefined, taskset: string | undefined): { command: string; args: string[] } {
  if (cpu === undefined || taskset === undefined) return { command, args };
  return { command: taskset, args: ['-c', String(cpu), command, ...args] };
}

export interface Pinning {
  /** taskset's path, or undefined to run unpinned. */
  taskset: string | undefined;
  /** One CPU, or a taskset list ("0,1") for a proxy with several workers. */
  cpu: number | string | undefined;
}

/** Every child this process started and has not seen exit: stopped on SIGINT/SIGTERM. */
const live = new Set<ChildProcess>();
let handlersInstalled = false;

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!handlersInstalled) {
    handlersInstalled = true;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        process.stderr.write(`\n${signal}: stopping ${live.size} bench process(es)...\n`);
        void Promise.allSettled([...live].map((c) => stopProcess(c))).then(() => process.exit(130));
      });
    }
  }
  return child;
}

function logStdio(logFile: string | undefined, stdout: 'log' | 'discard'): { stdio: (number | 'ignore')[]; close: () => void } {
  if (!logFile) return { stdio: ['ignore', 'ignore', 'ignore'], close: () => {} };
  const fd = openSync(logFile, 'a');
  return { stdio: ['ignore', stdout === 'log' ? fd : 'ignore', fd], close: () => closeSync(fd) };
}

export interface NodeServiceSpec {
  name: string;
  /**
   * Which lab service (it runs from the same bundle as in the local lab, infra/src/local/bundle.ts),
   * or another program of the repository, bundled the same way.
   */
  program: ServiceKind | { name: string; entry: string };
  env: Record<string, string>;
  pinning: Pinning;
  /** stderr (and stdout unless `stdout: 'discard'`) go here; without it, all output is discarded. */
  logFile?: string;
  stdout?: 'log' | 'discard';
  /** Extra Node flags, e.g. --cpu-prof. */
  execArgv?: string[];
  readyTimeoutMs?: number;
}

export interface StartedService {
  child: ChildProcess;
  pid: number;
  port: number;
}

/**
 * Starts a lab service the way the local lab forks it (its bundle, IPC channel) but through
 * taskset when pinning, and resolves once it sends `{ type: 'ready', port }`. taskset execs node
 * in place, so the pid, the IPC channel and the affinity all belong to the service itself.
 */
export async function startNodeService(spec: NodeServiceSpec): Promise<StartedService> {
  const io = logStdio(spec.logFile, spec.stdout ?? 'log');
  const { command, args } = pinned(
    process.execPath,
    [...(spec.execArgv ?? []), await (typeof spec.program === 'string' ? serviceBundle(spec.program) : programBundle(spec.program.name, spec.program.entry))],
    spec.pinning.cpu,
    spec.pinning.taskset,
  );
  const child = track(spawn(command, args, { cwd: REPO_ROOT, env: spec.env, stdio: [...io.stdio, 'ipc'] as StdioOptions }));
  io.close();
  const where = spec.logFile ? ` (see ${spec.logFile})` : '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${spec.name} did not report ready within ${spec.readyTimeoutMs ?? 30_000} ms${where}`)), spec.readyTimeoutMs ?? 30_000);
    const onMessage = (message: unknown) => {
      const ready = message as ReadyMessage;
      if (ready?.type === 'ready') finish(undefined, ready.port);
    };
    const onExit = (code: number | null, signal: string | null) => finish(new Error(`${spec.name} exited before it was ready (code ${code}, signal ${signal})${where}`));
    const onError = (error: Error) => finish(new Error(`${spec.name} could not start: ${error.message}`));
    const finish = (error?: Error, readyPort?: number) => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
      if (error) reject(error);
      else resolve(readyPort!);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  }).catch(async (error: unknown) => {
    await stopProcess(child);
    throw error;
  });
  return { child, pid: child.pid!, port };
}

export interface ProgramSpec {
  name: string;
  command: string;
  args: string[];
  pinning: Pinning;
  logFile?: string;
  env?: Record<string, string>;
  /**
   * Stop it on this process's SIGINT/SIGTERM (default). Off when the caller stops it itself on
   * those signals (the local lab, which also removes the server's folders).
   */
  stopOnSignal?: boolean;
}

/** Starts an external server (nginx, varnishd) in the foreground as our child. */
export function startProgram(spec: ProgramSpec): ChildProcess {
  const io = logStdio(spec.logFile, 'log');
  const { command, args } = pinned(spec.command, spec.args, spec.pinning.cpu, spec.pinning.taskset);
  const child = spawn(command, args, { cwd: REPO_ROOT, env: spec.env ?? process.env, stdio: io.stdio as StdioOptions });
  if (spec.stopOnSignal !== false) track(child);
  io.close();
  return child;
}

/** Resolves once `url` answers anything over HTTP; rejects if the child exits first or time runs out. */
export async function waitForHttp(url: string, child: ChildProcess, name: string, timeoutMs = 20_000, logFile?: string): Promise<void> {
  const where = logFile ? ` (see ${logFile})` : '';
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited during start-up (code ${child.exitCode}, signal ${child.signalCode})${where}`);
    }
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await response.arrayBuffer();
      return;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} did not answer at ${url} within ${timeoutMs} ms: ${String(lastError)}${where}`);
}

/** SIGTERM (or `signal`), then SIGKILL after `graceMs`; resolves when the child has exited. */
export function stopProcess(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

export interface Memory {
  /** Resident set size now. */
  rssBytes: number;
  /** Peak resident set size since the process started. */
  peakRssBytes: number;
}

/** VmRSS and VmHWM of a process from /proc (Linux); undefined where /proc has no such process. */
export async function readMemory(pid: number): Promise<Memory | undefined> {
  let status: string;
  try {
    status = await readFile(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  return parseProcStatusMemory(status);
}

/** VmRSS/VmHWM (kB in the file) from the text of /proc/<pid>/status. */
export function parseProcStatusMemory(status: string): Memory | undefined {
  const kb = (field: string) => {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  };
  const rss = kb('VmRSS');
  if (rss === undefined) return undefined;
  return { rssBytes: rss, peakRssBytes: kb('VmHWM') ?? rss };
}

/**
 * CPU seconds (user + system) used so far by a process and all its living descendants (nginx's
 * worker, varnishd's cache process); undefined where /proc has no such process.
 */
export async function readTreeCpuSeconds(pid: number): Promise<number | undefined> {
  return (await readProcessTree(pid))?.cpuSeconds;
}

/** Runs a program to completion and returns its output; rejects with stderr on a non-zero exit. */
export function runToEnd(command: string, args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = track(spawn(command, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = options.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), options.timeoutMs) : undefined;
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command}: ${error.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code ?? signal}: ${(stderr || stdout).trim().slice(0, 2000)}`));
    });
  });
}

/** CPU time and memory of a process and every process under it, from /proc (Linux). */
export interface ProcessTreeUsage {
  /** The pids found (the root first). */
  pids: number[];
  /** User + system CPU seconds of the processes alive now, summed. */
  cpuSeconds: number;
  /** Resident memory now, summed. */
  rssBytes: number;
  /** Each process's own peak resident memory (VmHWM), summed: at least the tree's peak, at most the sum of peaks. */
  peakRssBytes: number;
}

/** Clock ticks per second of /proc/<pid>/stat's times (USER_HZ, 100 on Linux everywhere). */
const USER_HZ = 100;

/** utime + stime (ticks) and the parent pid from the text of /proc/<pid>/stat. */
export function parseProcStat(stat: string): { ppid: number; cpuTicks: number } | undefined {
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ppid = Number(fields[1]);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(ppid) || !Number.isFinite(utime) || !Number.isFinite(stime)) return undefined;
  return { ppid, cpuTicks: utime + stime };
}

/** Reads the usage of `pid` and its descendants; undefined when the process is gone. */
export async function readProcessTree(pid: number): Promise<ProcessTreeUsage | undefined> {
  const stats = new Map<number, { ppid: number; cpuTicks: number }>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => undefined);
    const parsed = stat ? parseProcStat(stat) : undefined;
    if (parsed) stats.set(Number(entry), parsed);
  }
  if (!stats.has(pid)) return undefined;
  const pids = [pid];
  for (let i = 0; i < pids.length; i++) {
    for (const [child, stat] of stats) if (stat.ppid === pids[i] && !pids.includes(child)) pids.push(child);
  }
  let cpuTicks = 0;
  let rssBytes = 0;
  let peakRssBytes = 0;
  for (const id of pids) {
    cpuTicks += stats.get(id)!.cpuTicks;
    const memory = await readMemory(id);
    rssBytes += memory?.rssBytes ?? 0;
    peakRssBytes += memory?.peakRssBytes ?? 0;
  }
  return { pids, cpuSeconds: cpuTicks / USER_HZ, rssBytes, peakRssBytes };
}
