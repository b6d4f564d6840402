// Runs a real `prometheus` binary beside a local lab: the rendered config and the committed rule
// files in a temporary folder, the web API on a free loopback port, stopped with the lab.
// `cdn-lab up --prometheus` and the live panel tests use this.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { prometheusArgs, renderPrometheusConfig, type ScrapeTarget } from './prometheus.ts';
import { GRAFANA_DIR, RULE_FILES } from './render.ts';

export class PrometheusStartError extends Error {
  override name = 'PrometheusStartError';
}

/** Whether a `prometheus` binary runs from PATH (or the given path). */
export function hasPrometheusBinary(binary = 'prometheus'): boolean {
  const probe = spawnSync(binary, ['--version'], { encoding: 'utf8' });
  return probe.error === undefined && probe.status === 0;
}

export interface StartPrometheusOptions {
  targets: readonly ScrapeTarget[];
  /** Default 1: a lab run is short. */
  scrapeIntervalSeconds?: number;
  /** Default `prometheus` from PATH. */
  binary?: string;
  /** Default 127.0.0.1; port 0 picks a free one. */
  host?: string;
  port?: number;
  /** Keep the config and TSDB here instead of a temporary folder removed on stop. */
  workDir?: string;
  readyTimeoutMs?: number;
}

export interface RunningPrometheus {
  /** Base URL of the web UI and HTTP API, e.g. http://127.0.0.1:41234 */
  url: string;
  configFile: string;
  pid: number;
  /** Last lines Prometheus printed (for error messages). */
  output(): string;
  /** SIGTERM, SIGKILL after 5 s; removes the temporary folder. Safe to call twice. */
  stop(): Promise<void>;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new PrometheusStartError('no free port'))));
    });
  });
}

export async function startPrometheus(options: StartPrometheusOptions): Promise<RunningPrometheus> {
  const host = options.host ?? '127.0.0.1';
  const port = options.port || (await freePort(host));
  const temporary = options.workDir === undefined;
  const workDir = options.workDir ?? mkdtempSync(path.join(tmpdir(), 'cdn-lab-prometheus-'));
  const configFile = path.join(workDir, 'prometheus.yml');
  writeFileSync(
    configFile,
    renderPrometheusConfig({
      targets: options.targets,
      scrapeIntervalSeconds: options.scrapeIntervalSeconds ?? 1,
      ruleFiles: Object.values(RULE_FILES).map((file) => path.join(GRAFANA_DIR, file)),
    }),
  );
  const url = `http://${host}:${port}`;
  let log = '';
  const child: ChildProcess = spawn(
    options.binary ?? 'prometheus',
    prometheusArgs({ configFile, dataDir: path.join(workDir, 'data'), listenAddress: `${host}:${port}` }),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const spawned = new Promise<void>((resolve, reject) => {
    child.once('spawn', resolve);
    child.once('error', (error) => reject(new PrometheusStartError(`cannot run ${options.binary ?? 'prometheus'}: ${error.message}`)));
  });

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= new Promise<void>((resolve) => {
      const done = () => {
        if (temporary) rmSync(workDir, { recursive: true, force: true });
        resolve();
      };
      if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return done();
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      child.kill('SIGTERM');
    });
    return stopped;
  };

  try {
    await spawned;
    const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
    for (;;) {
      if (child.exitCode !== null) throw new PrometheusStartError(`prometheus exited with code ${child.exitCode}:\n${log.slice(-2000)}`);
      try {
        if ((await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(1000) })).ok) break;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new PrometheusStartError(`prometheus was not ready at ${url} in time:\n${log.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, configFile, pid: child.pid!, output: () => log, stop };
}
