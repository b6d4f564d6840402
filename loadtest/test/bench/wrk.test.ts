import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { findExecutable, runToEnd } from '@cdn-lab/infra/local/processes';
import { COUNTER_LUA, COUNTER_STRIDE, parseWrkOutput, WrkParseError, wrkArgs, ZIPF_LUA, type LoadSpec } from '../../src/bench/wrk.ts';

const wrk = await findExecutable('wrk');

const fixture = (name: string) => readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', name), 'utf8');

// Fixtures are wrk 4.1.0 reports captured on this machine (see the file names for what was run).
test('parses throughput, latency distribution and totals of a clean run', (t) => {
  const r = parseWrkOutput(fixture('wrk-hits.txt'));
  t.is(r.requests, 5605);
  t.is(r.durationS, 3.03);
  t.is(r.requestsPerSec, 1848.54);
  t.is(r.bytesPerSec, 2.32 * 1024 * 1024);
  t.is(r.latencyMs.avg, 51.7);
  t.is(r.latencyMs.max, 564.12);
  t.is(r.latencyMs.p50, 19.45);
  t.is(r.latencyMs.p75, 50.75);
  t.is(r.latencyMs.p90, 150.08);
  t.is(r.latencyMs.p99, 428.75);
  t.is(r.non2xx, 0);
  t.is(r.errors, 0);
  t.is(r.timeouts, 0);
});

test('timeouts are counted apart from broken connections', (t) => {
  const text = fixture('wrk-hits.txt').replace('Requests/sec:', '  Socket errors: connect 0, read 0, write 0, timeout 34\nRequests/sec:');
  const r = parseWrkOutput(text);
  t.is(r.timeouts, 34);
  t.is(r.errors, 0);
});

test('counts non-2xx/3xx responses', (t) => {
  const r = parseWrkOutput(fixture('wrk-non2xx.txt'));
  t.is(r.non2xx, 11385);
  t.is(r.requests, 11385);
});

test('adds up socket errors and reads KB transfer rates', (t) => {
  const r = parseWrkOutput(fixture('wrk-socket-errors.txt'));
  t.is(r.errors, 40 + 45238);
  t.is(r.timeouts, 0);
  t.is(r.bytesPerSec, 158.88 * 1024);
  t.is(r.latencyMs.p99, 33.26);
});

test('converts microseconds and seconds to milliseconds', (t) => {
  const text = fixture('wrk-hits.txt').replace('50%   19.45ms', '50%  812.00us').replace('99%  428.75ms', '99%    1.50s');
  const r = parseWrkOutput(text);
  t.is(r.latencyMs.p50, 0.812);
  t.is(r.latencyMs.p99, 1500);
});

test('output without --latency or without a summary is an error naming what is missing', (t) => {
  const noLatency = fixture('wrk-hits.txt').replace(/ {2}Latency Distribution[\s\S]*?99%[^\n]*\n/, '');
  t.throws(() => parseWrkOutput(noLatency), { instanceOf: WrkParseError, message: /50% latency \(was --latency given\?\)/ });
  t.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'), { instanceOf: WrkParseError, message: /no request count/ });
});

test('wrk arguments for a fixed URL, the never-repeating counter and Zipf popularity', (t) => {
  const spec: LoadSpec = { baseUrl: 'http://127.0.0.1:8080', pattern: { kind: 'fixed', path: '/obj/7' }, connections: 50, threads: 1, durationMs: 5000 };
  const scripts = { counter: '/tmp/c.lua', zipf: '/tmp/z.lua' };
  t.deepEqual(wrkArgs(spec), ['-t1', '-c50', '-d5s', '--latency', 'http://127.0.0.1:8080/obj/7']);
  const counter = { ...spec, threads: 2, pattern: { kind: 'counter' as const, start: 1_000_001 } };
  t.deepEqual(wrkArgs(counter, scripts), ['-t2', '-c50', '-d5s', '--latency', '-s', '/tmp/c.lua', 'http://127.0.0.1:8080/', '--', '1000001', String(COUNTER_STRIDE)]);
  t.throws(() => wrkArgs(counter), { message: /counter pattern needs its Lua script/ });
  const zipf = { ...spec, pattern: { kind: 'zipf' as const, objects: 10_000, exponent: 1, seed: 3 } };
  t.deepEqual(wrkArgs(zipf, scripts), ['-t1', '-c50', '-d5s', '--latency', '-s', '/tmp/z.lua', 'http://127.0.0.1:8080/', '--', '10000', '1', '3']);
});

const withWrk = wrk ? test : test.skip;
if (!wrk) process.stderr.write('wrk.test.ts: wrk is not installed (apt-get install wrk): the counter script is not exercised\n');

withWrk('the counter script never repeats a URL, across threads too (real wrk)', async (t) => {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    seen.set(req.url!, (seen.get(req.url!) ?? 0) + 1);
    res.end('x');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-wrk-test-'));
  try {
    const scripts = { counter: path.join(dir, 'counter.lua'), zipf: path.join(dir, 'zipf.lua') };
    await writeFile(scripts.counter, COUNTER_LUA);
    const port = (server.address() as AddressInfo).port;
    const spec: LoadSpec = { baseUrl: `http://127.0.0.1:${port}`, pattern: { kind: 'counter', start: 5 }, connections: 4, threads: 2, durationMs: 1000 };
    const { stdout } = await runToEnd(wrk!, wrkArgs(spec, scripts), { timeoutMs: 30_000 });
    const result = parseWrkOutput(stdout);
    t.true(seen.size > 0);
    t.true([...seen.values()].every((n) => n === 1), 'some URL was asked twice');
    const ids = [...seen.keys()].map((u) => Number(/^\/obj\/(\d+)$/.exec(u)?.[1]));
    t.true(ids.every((id) => Number.isInteger(id) && id >= 5 && id < 5 + 2 * COUNTER_STRIDE));
    // Thread 0 counts up from 5, thread 1 from 5 + stride (wrk may build a request it never sends).
    t.true(ids.some((id) => id < 5 + COUNTER_STRIDE) && ids.some((id) => id >= 5 + COUNTER_STRIDE));
    t.true(result.requests <= seen.size);
  } finally {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});

withWrk('the Zipf script asks only for the catalogue ids, the lowest most often, about as Zipf(1) says (real wrk)', async (t) => {
  const counts = new Map<number, number>();
  let bad = 0;
  const server = createServer((req, res) => {
    const m = /^\/obj\/(\d+)$/.exec(req.url!);
    if (m) counts.set(Number(m[1]), (counts.get(Number(m[1])) ?? 0) + 1);
    else bad++;
    res.end('x');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bench-wrk-test-'));
  try {
    const scripts = { counter: path.join(dir, 'counter.lua'), zipf: path.join(dir, 'zipf.lua') };
    await writeFile(scripts.zipf, ZIPF_LUA);
    const objects = 100;
    const port = (server.address() as AddressInfo).port;
    const spec: LoadSpec = { baseUrl: `http://127.0.0.1:${port}`, pattern: { kind: 'zipf', objects, exponent: 1, seed: 7 }, connections: 4, threads: 1, durationMs: 1000 };
    await runToEnd(wrk!, wrkArgs(spec, scripts), { timeoutMs: 30_000 });
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    t.is(bad, 0, 'a request outside /obj/<id>');
    t.true(total >= 1000, `only ${total} requests were answered in 1 s`);
    t.true([...counts.keys()].every((id) => Number.isInteger(id) && id >= 0 && id < objects));
    // Zipf(1) over 100 ids: id 0 has weight 1 / H(100) = 19.3%, id 9 has 1.9%. Bounds wide enough for any sample of 1000+.
    const share = (id: number) => (counts.get(id) ?? 0) / total;
    t.true(share(0) > 0.14 && share(0) < 0.25, `id 0 got ${(100 * share(0)).toFixed(1)}%`);
    t.true(share(0) > 4 * share(9), 'the hottest id is not clearly hotter than the tenth');
  } finally {
    server.closeAllConnections();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
