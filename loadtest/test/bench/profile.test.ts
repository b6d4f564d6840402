import test from 'ava';
import { areaOf, formatProfileSummary, summarizeProfile, type CpuProfile } from '../../src/bench/profile.ts';

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
