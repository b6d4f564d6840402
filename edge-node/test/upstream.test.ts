import http from 'node:http';
import test from 'ava';
import { nodeStyleHeaders } from '../src/upstream.ts';
import { request, startEdge, startUpstream } from './helpers.ts';

test('nodeStyleHeaders: repeats joined with ", " (Cookie "; "), Set-Cookie always a list, singletons keep the first', (t) => {
  t.deepEqual(
    nodeStyleHeaders({
      'cache-control': ['max-age=60', 'must-revalidate'],
      'set-cookie': 'a=1',
      cookie: ['a=1', 'b=2'],
      'content-type': ['text/plain', 'text/html'],
      etag: ['"1"', '"2"'],
      vary: 'accept',
    }),
    { 'cache-control': 'max-age=60, must-revalidate', 'set-cookie': ['a=1'], cookie: 'a=1; b=2', 'content-type': 'text/plain', etag: '"1"', vary: 'accept' },
  );
});

test('the edge reads repeated upstream fields as node:http would: both Cache-Control lines count', async (t) => {
  const upstream = await startUpstream((req, res) => {
    // Raw header pairs so each field is sent as its own line.
    const head = ['content-type', 'text/plain', 'cache-control', 'max-age=60', 'cache-control', 'private', 'x-a', '1', 'x-a', '2'];
    res.writeHead(200, head);
    res.end(`body of ${req.url}`);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const first = await request(`${edge.url}/p`);
  t.is(first.status, 200);
  t.is(first.body, 'body of /p');
  t.is(first.headers['x-a'], '1, 2');
  await request(`${edge.url}/p`);
  t.is(upstream.count('/p'), 2, 'the second line (private) made the response unstorable');
});

test('the upstream receives the Host of its base URL, Via and X-Forwarded-For, and a POST body with its length', async (t) => {
  const upstream = await startUpstream((_req, res, body) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-store' });
    res.end(`got ${body.length}`);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  const answer = await request(`${edge.url}/form`, { method: 'POST', body: 'x'.repeat(5000), headers: { 'content-type': 'text/plain', expect: '100-continue' } });
  t.is(answer.status, 200);
  t.is(answer.body, 'got 5000');
  const seen = upstream.requests[0] as { headers: http.IncomingHttpHeaders };
  t.is(seen.headers.host, new URL(upstream.url).host);
  t.is(seen.headers['content-length'], '5000');
  t.is(seen.headers.expect, undefined);
  t.regex(seen.headers.via as string, /edge/);
  t.is(seen.headers['x-forwarded-for'], '127.0.0.1');
});

