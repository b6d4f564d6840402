// Reads a V8 CPU profile (node --cpu-prof) and answers "where does the time go": self time per
// function and per area (our code, Node's http stack, libraries, GC, idle). Self time is the
// number of samples in which the function was on top of the stack.

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  startTime: number;
  endTime: number;
}

export interface FrameShare {
  frame: string;
  area: string;
  samples: number;
  /** Share of the busy (non-idle) samples. */
  share: number;
}

export interface ProfileSummary {
  durationMs: number;
  samples: number;
  idleShare: number;
  areas: { area: string; samples: number; share: number }[];
  /**
   * Each busy sample charged to the innermost frame on its stack from our code or a library (not
   * Node's internals, not native code): who asked for the work. `writev` under `res.end` in the
   * edge counts for the edge; under pino's stream for sonic-boom.
   */
  owners: { area: string; samples: number; share: number }[];
  top: FrameShare[];
}

/** Which part of the program a frame belongs to, from its script URL. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(idle)') return 'idle';
    if (functionName === '(garbage collector)') return 'gc';
    return 'native/v8';
  }
  if (url.startsWith('node:')) return url.startsWith('node:_http') || url.startsWith('node:http') ? 'node:http' : 'node:other';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `dep:${nm[1]}`;
  const ws = /\/(edge-node|service-kit|origin|load-balancer|loadtest|infra)\/src\//.exec(url);
  if (ws) return ws[1]!;
  return 'other';
}

function frameName(frame: CallFrame): string {
  const file = frame.url ? frame.url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|edge-node|service-kit)\//, '$1/') : '';
  return `${frame.functionName || '(anonymous)'}${file ? ` ${file}:${frame.lineNumber + 1}` : ''}`;
}

/**
 * Where each line of an esbuild bundle came from, read from the `// path/to/file.ts` comment esbuild
 * writes before each module: the lab's services run from bundles (infra/src/local/bundle.ts), whose
 * one URL would put every frame in one area.
 */
export function bundleSources(bundleText: string): (line: number) => string | undefined {
  const starts: { line: number; source: string }[] = [];
  bundleText.split('\n').forEach((text, line) => {
    const m = /^\/\/ (\S+\.(?:[cm]?js|[cm]?ts))$/.exec(text);
    if (m) starts.push({ line, source: m[1]! });
  });
  return (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found: string | undefined;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid]!.line <= line) {
        found = starts[mid]!.source;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
}

/**
 * `bundles`: for a script URL that is a bundle, the source of each of its lines (bundleSources);
 * such frames are then placed by their source file, e.g. `/edge-node/src/proxy.ts`, `node_modules/undici/...`.
 */
export function summarizeProfile(profile: CpuProfile, topN = 25, bundles: ReadonlyMap<string, (line: number) => string | undefined> = new Map()): ProfileSummary {
  if (bundles.size > 0) {
    profile = {
      ...profile,
      nodes: profile.nodes.map((n) => {
        const source = bundles.get(n.callFrame.url)?.(n.callFrame.lineNumber);
        return source ? { ...n, callFrame: { ...n.callFrame, url: `bundle:/${source}` } } : n;
      }),
    };
  }
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parent.set(child, n.id);
  const ownerOf = (id: number): string => {
    const own = areaOf(byId.get(id)!.callFrame);
    if (own === 'gc') return 'gc';
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const area = areaOf(byId.get(at)!.callFrame);
      if (area !== 'native/v8' && !area.startsWith('node:')) return area;
    }
    return own === 'native/v8' ? 'node internals / native (no app frame)' : `${own} (no app frame)`;
  };
  const owners = new Map<string, number>();
  const counts = new Map<number, number>();
  if (profile.samples?.length) {
    for (const id of profile.samples) counts.set(id, (counts.get(id) ?? 0) + 1);
  } else {
    for (const n of profile.nodes) if (n.hitCount) counts.set(n.id, n.hitCount);
  }
  let total = 0;
  let idle = 0;
  const frames = new Map<string, { area: string; samples: number }>();
  const areas = new Map<string, number>();
  for (const [id, count] of counts) {
    const node = byId.get(id);
    if (!node) continue;
    total += count;
    const area = areaOf(node.callFrame);
    if (area === 'idle') {
      idle += count;
      continue;
    }
    areas.set(area, (areas.get(area) ?? 0) + count);
    const owner = ownerOf(id);
    owners.set(owner, (owners.get(owner) ?? 0) + count);
    const key = frameName(node.callFrame);
    const entry = frames.get(key) ?? { area, samples: 0 };
    entry.samples += count;
    frames.set(key, entry);
  }
  const busy = total - idle || 1;
  return {
    durationMs: (profile.endTime - profile.startTime) / 1000,
    samples: total,
    idleShare: total ? idle / total : 0,
    areas: [...areas].map(([area, samples]) => ({ area, samples, share: samples / busy })).sort((a, b) => b.samples - a.samples),
    owners: [...owners].map(([area, samples]) => ({ area, samples, share: samples / busy })).sort((a, b) => b.samples - a.samples),
    top: [...frames]
      .map(([frame, e]) => ({ frame, area: e.area, samples: e.samples, share: e.samples / busy }))
      .sort((a, b) => b.samples - a.samples)
      .slice(0, topN),
  };
}

export function formatProfileSummary(summary: ProfileSummary): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(6);
  // Areas under 0.1% are start-up and rare paths: noise for "where does a request's time go".
  const visible = (list: { area: string; share: number }[]) => list.filter((a) => a.share >= 0.001).map((a) => `  ${pct(a.share)}  ${a.area}`);
  const lines = [
    `${summary.samples} samples over ${(summary.durationMs / 1000).toFixed(1)} s, idle ${pct(summary.idleShare).trim()}; shares below are of the busy samples`,
    '',
    'by area of the function itself (self time):',
    ...visible(summary.areas),
    '',
    'by owner (charged to the innermost frame of our code or a library on the stack):',
    ...visible(summary.owners),
    '',
    'top functions (self time):',
    ...summary.top.map((f) => `  ${pct(f.share)}  ${f.frame}  [${f.area}]`),
  ];
  return lines.join('\n');
}
