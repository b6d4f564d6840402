// Purge on the admin endpoint: bearer token (constant-time), by URL, prefix and tag, soft and hard.
import test from 'ava';
import { request, startEdge, startUpstream } from './helpers.ts';

const TOKEN = 'test-admin-token';

async function rig(t: import('ava').ExecutionContext, env: Record<string, string> = { ADMIN_TOKEN: TOKEN }) {
  const upstream = await startUpstream((req, res) => {
    const tags = req.url?.startsWith('/obj/') ? `obj product-${req.url.slice(5)}` : 'other';
    res.writeHead(200, { 'cache-control': 'max-age=600', etag: '"e"', 'surrogate-key': tags, 'cache-tag': 'cf-style' });
    res.end(`body ${req.url}`);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url, ...env });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const purge = (body: unknown, token: string | undefined = TOKEN) =>
    request(`${edge.url}/_edge/purge`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });
  const warm = async (...paths: string[]) => {
    for (const path of paths) await request(`${edge.url}${path}`);
  };
  return { upstream, edge, purge, warm };
}

test('purge without ADMIN_TOKEN configured: the admin endpoint is disabled (404)', async (t) => {
  const { purge, edge } = await rig(t, {});
  const answer = await purge({ url: '/obj/1' }, 'anything');
  t.is(answer.status, 404);
  t.is(JSON.parse(answer.body).error, 'admin_disabled');
  t.is(answer.headers['cache-status'], 'cdn-lab; detail=local');
  t.is(edge.edge.store.count, 0);
});

test('purge with a missing or wrong token is 401', async (t) => {
  const { purge, warm, edge } = await rig(t);
  await warm('/obj/1');
  t.is((await purge({ url: '/obj/1' }, '')).status, 401);
  const wrong = await purge({ url: '/obj/1' }, 'test-admin-tokeN');
  t.is(wrong.status, 401);
  t.is(wrong.headers['www-authenticate'], 'Bearer realm="cdn-lab-edge"');
  t.is(edge.edge.store.count, 1);
});

test('hard purge by URL removes the entry; the next request is a miss', async (t) => {
  const { purge, warm, edge, upstream } = await rig(t);
  await warm('/obj/1', '/obj/2');
  const answer = await purge({ url: 'http://any.host/obj/1' });
  t.is(answer.status, 200);
  t.deepEqual(JSON.parse(answer.body), { purged: 1, soft: false });
  t.is(edge.edge.store.count, 1);
  t.is((await request(`${edge.url}/obj/1`)).headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  t.is(upstream.count('/obj/1'), 2);
});

test('purge by prefix and by Surrogate-Key / Cache-Tag', async (t) => {
  const { purge, warm, edge } = await rig(t);
  await warm('/obj/1', '/obj/2', '/obj/3', '/misc/a');
  t.is(JSON.parse((await purge({ tag: 'product-2' })).body).purged, 1);
  t.is(JSON.parse((await purge({ prefix: '/obj/' })).body).purged, 2);
  t.is(edge.edge.store.count, 1);
  t.is(JSON.parse((await purge({ tag: 'cf-style' })).body).purged, 1);
  t.is(edge.edge.store.count, 0);
});

test('soft purge marks stale: the next request revalidates (304) instead of refetching', async (t) => {
  const { purge, warm, edge, upstream } = await rig(t);
  await warm('/obj/1');
  t.deepEqual(JSON.parse((await purge({ url: '/obj/1', soft: true })).body), { purged: 1, soft: true });
  t.is(edge.edge.store.count, 1);
  const answer = await request(`${edge.url}/obj/1`);
  t.regex(answer.headers['cache-status'] as string, /^cdn-lab; fwd=stale/);
  t.is(upstream.requests[1]?.headers['if-none-match'], '"e"');
});

test('Surrogate-Key and Cache-Tag are not sent to clients', async (t) => {
  const { edge } = await rig(t);
  const answer = await request(`${edge.url}/obj/5`);
  t.is(answer.headers['surrogate-key'], undefined);
  t.is(answer.headers['cache-tag'], undefined);
});

test('a malformed purge body is 400 naming the problem', async (t) => {
  const { purge, edge } = await rig(t);
  const both = await purge({ url: '/a', tag: 'b' });
  t.is(both.status, 400);
  t.regex(JSON.parse(both.body).message, /exactly one/);
  const notJson = await request(`${edge.url}/_edge/purge`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{nope' });
  t.is(notJson.status, 400);
});
