// Shared test plumbing: an origin on an ephemeral loopback port, and a Prometheus text parser.
import http from 'node:http';
import { Writable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import { createLogger, listen, type Logger } from '@cdn-lab/service-kit';
import { createOriginApp, type OriginApp, type OriginDeps } from '../src/app.ts';
import { originConfig, type OriginConfig } from '../src/config.ts';

export interface TestOrigin extends OriginApp {
  config: OriginConfig;
  url: string;
}

export function silentLogger(): Logger {
  return createLogger({ service: 'origin', level: 'silent' });
}

/** A logger writing into `lines` (one parsed JSON object per line). */
export function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      done();
    },
  });
  return createLogger({ service: 'origin', level: 'info', destination });
}

export async function startOrigin(
  t: ExecutionContext,
  overrides: Partial<OriginConfig> = {},
  deps: OriginDeps = {},
): Promise<TestOrigin> {
  const config = originConfig({ originId: 'origin-test', logLevel: 'silent', ...overrides });
  const origin = createOriginApp(config, { logger: silentLogger(), defaultMetrics: false, ...deps });
  const running = await listen(http.createServer(origin.app), '127.0.0.1', 0);
  t.teardown(() => running.close());
  return { ...origin, config, url: running.url };
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (samples only; comments skipped). */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) throw new Error(`unparseable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** Samples named `name` whose labels include all of `labels`. */
export function select(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** Sum of the selected samples' values. */
export function total(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return select(samples, name, labels).reduce((sum, s) => sum + s.value, 0);
}

export async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(`${url}/metrics`);
  return parseExposition(await response.text());
}
