import test from 'ava';
import { areaOf, bundleSources, formatProfileSummary, summarizeProfile, type CpuProfile } from '../../src/bench/profile.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

test('areas from script URLs', (t) => {
  t.is(areaOf(frame('(idle)')), 'idle');
  t.is(areaOf(frame('(garbage collector)')), 'gc');
  t.is(areaOf(frame('(program)')), 'native/v8');
  t.is(areaOf(frame('writeHead', 'node:_http_server')), 'node:http');
  t.is(areaOf(frame('emit', 'node:events')), 'node:other');
  t.is(areaOf(frame('write', 'file:///work/main/node_modules/pino/lib/proto.js')), 'dep:pino');
  t.is(areaOf(frame('inc', 'file:///r/node_modules/@scope/pkg/x.js')), 'dep:@scope/pkg');
  t.is(areaOf(frame('handle', 'file:///work/main/edge-node/src/proxy.ts')), 'edge-node');
});

test('self time per function and area, shares of the busy samples', (t) => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 2_000_000,
    nodes: [
      { id: 1, callFrame: frame('(root)') },
      { id: 2, callFrame: frame('(idle)') },
      { id: 3, callFrame: frame('serveHit', 'file:///w/edge-node/src/proxy.ts', 9) },
      { id: 4, callFrame: frame('writev', 'node:_http_outgoing', 1) },
      { id: 5, callFrame: frame('serveHit', 'file:///w/edge-node/src/proxy.ts', 9) },
    ],
    // idle 4, serveHit 3 + 1 (two nodes of one function), writev 2.
    samples: [2, 2, 2, 2, 3, 3, 3, 5, 4, 4],
  };
  const s = summarizeProfile(profile);
  t.is(s.samples, 10);
  t.is(s.idleShare, 0.4);
  t.is(s.durationMs, 2000);
  t.deepEqual(s.top.map((f) => [f.frame, f.samples]), [
    ['serveHit edge-node/src/proxy.ts:10', 4],
    ['writev node:_http_outgoing:2', 2],
  ]);
  t.is(s.top[0]!.share, 4 / 6);
  t.deepEqual(s.areas.map((a) => a.area), ['edge-node', 'node:http']);
  t.regex(formatProfileSummary(s), /66\.7%\s+serveHit/);
});

test('owners: native and Node-internal work is charged to the app or library frame that asked for it', (t) => {
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 1000,
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5] },
      { id: 2, callFrame: frame('serveHit', 'file:///w/edge-node/src/proxy.ts'), children: [3] },
      { id: 3, callFrame: frame('end', 'node:_http_outgoing'), children: [4] },
      { id: 4, callFrame: frame('writev') },
      { id: 5, callFrame: frame('actualWrite', 'file:///w/node_modules/sonic-boom/index.js'), children: [6] },
      { id: 6, callFrame: frame('writeString') },
      { id: 7, callFrame: frame('(garbage collector)') },
    ],
    samples: [4, 4, 3, 6, 7, 1],
  };
  const owners = Object.fromEntries(summarizeProfile(profile).owners.map((o) => [o.area, o.samples]));
  t.deepEqual(owners, { 'edge-node': 3, 'dep:sonic-boom': 1, gc: 1, 'node internals / native (no app frame)': 1 });
});

test("frames of an esbuild bundle are placed by the source file esbuild's comments name", (t) => {
  const bundle = ['import x from "y";', '// node_modules/undici/lib/core/util.js', 'function parseHeaders() {}', '', '// edge-node/src/proxy.ts', 'function handle() {}', 'function record() {}'].join('\n');
  const sourceOf = bundleSources(bundle);
  t.is(sourceOf(0), undefined, 'before the first module');
  t.is(sourceOf(2), 'node_modules/undici/lib/core/util.js');
  t.is(sourceOf(6), 'edge-node/src/proxy.ts');
  const url = 'file:///tmp/cdn-lab-bundles-x/edge.mjs';
  const profile: CpuProfile = {
    startTime: 0,
    endTime: 1_000_000,
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3] },
      { id: 2, callFrame: frame('parseHeaders', url, 2) },
      { id: 3, callFrame: frame('record', url, 6) },
    ],
    samples: [2, 3, 3, 3],
  };
  const areas = summarizeProfile(profile, 5, new Map([[url, sourceOf]])).areas;
  t.deepEqual(areas.map((a) => [a.area, a.samples]), [['edge-node', 3], ['dep:undici', 1]]);
  t.deepEqual(summarizeProfile(profile).areas.map((a) => a.area), ['other'], 'without the bundle: one area');
});
