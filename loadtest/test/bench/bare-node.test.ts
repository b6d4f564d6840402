import test from 'ava';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startBareNode } from '../../src/bench/bare-node.ts';

function get(url: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      })
      .on('error', reject);
  });
}

const portOf = (server: http.Server) => (server.address() as AddressInfo).port;

test('bare-node keeps a 200 from the origin and answers later requests from memory', async (t) => {
  let originRequests = 0;
  const origin = http.createServer((req, res) => {
    originRequests++;
    if (req.url === '/missing') {
      res.writeHead(404, { 'content-length': 0 });
      return res.end();
    }
    const body = Buffer.alloc(70_000, req.url!.length);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'max-age=60', 'content-length': body.length });
    res.end(body);
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const bare = await startBareNode(0, `http://127.0.0.1:${portOf(origin)}`);
  t.teardown(() => {
    bare.closeAllConnections();
    bare.close();
    origin.close();
  });
  const url = `http://127.0.0.1:${portOf(bare)}`;
  const first = await get(`${url}/obj/1`);
  t.is(first.status, 200);
  t.is(first.headers['x-cache'], 'MISS');
  t.is(first.body.length, 70_000);
  const second = await get(`${url}/obj/1`);
  t.is(second.headers['x-cache'], 'HIT');
  t.is(second.headers['content-length'], '70000');
  t.is(second.headers['cache-control'], 'max-age=60', 'end-to-end fields carried over');
  t.true(second.body.equals(first.body));
  t.is(originRequests, 1);
  t.is((await get(`${url}/missing`)).status, 404);
  t.is((await get(`${url}/missing`)).headers['x-cache'], 'MISS', 'only 200s are kept');
  t.is(originRequests, 3);
});

test('bare-node answers 502 when the origin is unreachable', async (t) => {
  const closed = http.createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = portOf(closed);
  await new Promise<void>((r) => closed.close(() => r()));
  const bare = await startBareNode(0, `http://127.0.0.1:${port}`);
  t.teardown(() => bare.close());
  t.is((await get(`http://127.0.0.1:${portOf(bare)}/x`)).status, 502);
});
