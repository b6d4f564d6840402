// One short live run per real cache server: the lab starts it as an edge in front of the origin,
// a repeated request is a hit by the server's own header and reaches the origin once, concurrent
// misses for one object are coalesced into one origin request, and stopping the lab leaves no
// process and no folder behind.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import os from 'node:os';
import test from 'ava';
import { findCacheServer } from '../src/local/cache-servers.ts';
import { startLab } from '../src/local/lab.ts';
import { readProcessTree } from '../src/local/processes.ts';
import { CACHE_SERVERS, servedFromServerCache, type CacheServerSoftware } from '../src/render/cache-server.ts';
import { parseTopology } from '../src/topology.ts';

const installed = Object.fromEntries(await Promise.all(CACHE_SERVERS.map(async (software) => [software, await findCacheServer(software)] as const)));

/** The catalogue requests the origin counted for one route (its own /metrics). */
async function originCount(originUrl: string, route = 'obj'): Promise<number> {
  const text = await (await fetch(`${originUrl}/metrics`)).text();
  let total = 0;
  for (const match of text.matchAll(/^origin_http_requests_total\{([^}]*)\} (\d+)/gm)) {
    if (match[1]!.includes(`route="${route}"`)) total += Number(match[2]);
  }
  return total;
}

/** This server's instance folders (the lab names them cdn-lab-<software>-<id>-…). */
async function folders(software: CacheServerSoftware): Promise<string[]> {
  const found: string[] = [];
  for (const parent of [os.tmpdir(), '/dev/shm']) {
    if (!existsSync(parent)) continue;
    for (const name of await readdir(parent)) if (name.startsWith(`cdn-lab-${software}-`)) found.push(`${parent}/${name}`);
  }
  return found;
}

for (const software of CACHE_SERVERS) {
  const found = installed[software]!;
  // Skipped where the server is not installed, except under CI, which installs it (.ci/run): there it runs and fails.
  const live = 'path' in found || process.env.CI ? test.serial : test.skip;
  if ('missing' in found) process.stderr.write(`cache-servers-live.test.ts: ${found.missing}: no live run\n`);
  live(`${software} as a lab edge: hits by its own header, coalesced misses, nothing left after stop`, async (t) => {
    const foldersBefore = await folders(software);
    // 200 ms of origin latency: concurrent requests all arrive while the first fetch is under way.
    const topology = parseTopology({ origin: { latencyMs: 200, jitterMs: 0 }, edges: { count: 1, software, cacheBytes: '16MiB' } });
    const lab = await startLab(topology);
    let treePids: number[] = [];
    try {
      const edge = lab.services.find((s) => s.plan.role === 'edge')!;
      treePids = (await readProcessTree(edge.pid))?.pids ?? [];
      t.true(treePids.length >= 1);
      const newFolders = (await folders(software)).filter((f) => !foldersBefore.includes(f));
      t.true(newFolders.length >= 1, 'the server runs from a folder of its own');

      const get = async (path: string) => {
        const response = await fetch(`${lab.balancerUrl}${path}`);
        await response.arrayBuffer();
        t.is(response.status, 200);
        return servedFromServerCache(software, (name) => response.headers.get(name) ?? undefined);
      };
      t.false(await get('/obj/1'), 'first request: a miss');
      t.true(await get('/obj/1'), 'second request: a hit by the server\'s own header');
      t.is(await originCount(lab.originUrls[0]!), 1, 'the origin saw /obj/1 once');

      const verdicts = await Promise.all(Array.from({ length: 10 }, () => get('/obj/2')));
      t.is(await originCount(lab.originUrls[0]!), 2, 'ten concurrent requests for /obj/2 reached the origin once');
      t.log(`${software}: ${verdicts.filter(Boolean).length} of 10 concurrent requests for one object called hits by the server`);
    } finally {
      await lab.stop();
    }
    for (const pid of treePids) t.false(existsSync(`/proc/${pid}`), `process ${pid} is gone`);
    t.deepEqual((await folders(software)).filter((f) => !foldersBefore.includes(f)), [], 'its folders are removed');
  });
}
