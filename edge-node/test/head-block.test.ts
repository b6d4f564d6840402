// Fresh hits written with a precomputed head (http/head-block.ts): the bytes on the wire, keep-alive,
// pipelining, HEAD, and the responses that must still go through writeHead.
import type { ServerResponse } from 'node:http';
import net from 'node:net';
import test from 'ava';
import { acceptsHeadBlock, buildHeadBlock } from '../src/http/head-block.ts';
import { startEdge, startUpstream, type TestEdge, type TestUpstream } from './helpers.ts';

/** A Date the upstream sends on every answer (so a hit must carry exactly this one); recent, so entries are fresh. */
const ORIGIN_DATE = new Date(Date.now() - 1000).toUTCString();

test('buildHeadBlock: status line and fields as wire text; null for an invalid value, or without Date or Content-Length', (t) => {
  t.is(buildHeadBlock(200, ['date', ORIGIN_DATE, 'content-length', '5']), `HTTP/1.1 200 OK\r\ndate: ${ORIGIN_DATE}\r\ncontent-length: 5\r\n`);
  t.is(buildHeadBlock(404, ['date', ORIGIN_DATE, 'content-length', '0']), `HTTP/1.1 404 Not Found\r\ndate: ${ORIGIN_DATE}\r\ncontent-length: 0\r\n`);
  t.is(buildHeadBlock(200, ['date', ORIGIN_DATE, 'x-bad', 'a\r\nb', 'content-length', '5']), null);
  t.is(buildHeadBlock(200, ['content-length', '5']), null);
  t.is(buildHeadBlock(204, ['date', ORIGIN_DATE]), null);
});

test('acceptsHeadBlock: only a response whose node:http slots read exactly as expected (a Node without them falls back)', (t) => {
  const fresh = { _header: null, _headerSent: false, shouldKeepAlive: true, maxRequestsOnConnectionReached: false };
  t.true(acceptsHeadBlock(fresh as unknown as ServerResponse));
  t.false(acceptsHeadBlock({} as ServerResponse), 'no slots at all');
  t.false(acceptsHeadBlock({ ...fresh, shouldKeepAlive: false } as unknown as ServerResponse), 'a closing connection');
  t.false(acceptsHeadBlock({ ...fresh, _header: 'HTTP/1.1 200 OK\r\n\r\n' } as unknown as ServerResponse), 'a head already built');
  t.false(acceptsHeadBlock({ ...fresh, maxRequestsOnConnectionReached: true } as unknown as ServerResponse), 'the last request on the connection');
});

/**
 * Sends `text` on one connection and collects what comes back until the server closes it or
 * `settleMs` pass without data; `closed` tells which.
 */
function exchange(port: number, text: string, settleMs = 300): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const settle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        socket.destroy();
        resolve({ text: out, closed: false });
      }, settleMs);
    };
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      out += d;
      settle();
    });
    socket.on('end', () => {
      clearTimeout(timer);
      resolve({ text: out, closed: true });
    });
    socket.on('error', reject);
    settle();
  });
}

/** Splits a stream of responses with Content-Length bodies into head lines and bodies. */
function responses(text: string): { head: string[]; body: string }[] {
  const out: { head: string[]; body: string }[] = [];
  let rest = text;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    if (end === -1) throw new Error(`incomplete head: ${JSON.stringify(rest)}`);
    const head = rest.slice(0, end).split('\r\n');
    const lengthLine = head.find((line) => /^content-length:/i.test(line));
    const length = lengthLine === undefined ? 0 : Number(lengthLine.split(':')[1]);
    const isHead = out.length < expectedMethods.length && expectedMethods[out.length] === 'HEAD';
    const bodyLength = isHead ? 0 : length;
    out.push({ head, body: rest.slice(end + 4, end + 4 + bodyLength) });
    rest = rest.slice(end + 4 + bodyLength);
  }
  return out;
}
let expectedMethods: string[] = [];

async function rig(t: { teardown(fn: () => Promise<void>): void }, withDate = true): Promise<{ edge: TestEdge; upstream: TestUpstream }> {
  const upstream = await startUpstream((req, res) => {
    const body = `body of ${req.url}`;
    const fields: Record<string, string | number> = { 'content-type': 'text/plain', 'cache-control': 'max-age=600', etag: '"v1"', 'content-length': Buffer.byteLength(body) };
    if (withDate) fields.date = ORIGIN_DATE;
    else res.sendDate = false;
    res.writeHead(200, fields);
    res.end(body);
  });
  const edge = await startEdge({ UPSTREAM_URLS: upstream.url });
  t.teardown(async () => {
    await edge.close();
    await upstream.close();
  });
  return { edge, upstream };
}

const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: edge\r\n${extra}\r\n`;

test('a hit: stored fields, Age, Cache-Status and keep-alive in one head; pipelined hits all answered on one connection', async (t) => {
  const { edge, upstream } = await rig(t);
  expectedMethods = ['GET'];
  await exchange(edge.port, get('/a', 'Connection: close\r\n'));
  expectedMethods = ['GET', 'HEAD', 'GET'];
  const { text, closed } = await exchange(edge.port, get('/a') + get('/a').replace('GET', 'HEAD') + get('/a'));
  t.false(closed, 'the connection stays open');
  const answers = responses(text);
  t.is(answers.length, 3);
  for (const [i, answer] of answers.entries()) {
    t.is(answer.head[0], 'HTTP/1.1 200 OK');
    const fields = answer.head.slice(1).map((line) => line.toLowerCase());
    t.true(fields.includes(`date: ${ORIGIN_DATE.toLowerCase()}`), 'the stored Date, not a second one');
    t.is(fields.filter((line) => line.startsWith('date:')).length, 1);
    t.true(fields.includes('etag: "v1"'));
    t.true(fields.includes('content-length: 10'));
    t.true(fields.some((line) => /^age: \d+$/.test(line)));
    t.true(fields.some((line) => /^cache-status: cdn-lab; hit; ttl=\d+$/.test(line)));
    t.true(fields.includes('connection: keep-alive'));
    t.true(fields.includes('keep-alive: timeout=5'));
    // node:http's writeHead spells these "Connection"/"Keep-Alive": lower case shows the precomputed head was used.
    t.true(answer.head.includes('connection: keep-alive'), 'written as one precomputed head');
    t.is(answer.body, i === 1 ? '' : 'body of /a');
  }
  t.is(upstream.count('/a'), 1);
});

test('a hit on a connection the client closes (Connection: close, HTTP/1.0): Connection: close, and the edge closes it', async (t) => {
  const { edge } = await rig(t);
  expectedMethods = ['GET'];
  await exchange(edge.port, get('/b', 'Connection: close\r\n'));
  for (const request of [get('/b', 'Connection: close\r\n'), 'GET /b HTTP/1.0\r\nHost: edge\r\n\r\n']) {
    const { text, closed } = await exchange(edge.port, request, 2000);
    t.true(closed, request);
    const [answer] = responses(text);
    t.regex(answer!.head[0]!, /^HTTP\/1\.[01] 200 OK$/);
    t.true(answer!.head.some((line) => /^connection: close$/i.test(line)), request);
    t.true(answer!.head.some((line) => /^cache-status: cdn-lab; hit/i.test(line)));
    t.is(answer!.body, 'body of /b');
  }
});

test('HTTP/1.0 with Connection: keep-alive gets a kept connection and the same fields as HTTP/1.1', async (t) => {
  const { edge } = await rig(t);
  expectedMethods = ['GET'];
  await exchange(edge.port, get('/c', 'Connection: close\r\n'));
  const { text, closed } = await exchange(edge.port, 'GET /c HTTP/1.0\r\nHost: edge\r\nConnection: keep-alive\r\n\r\n');
  t.false(closed);
  const [answer] = responses(text);
  t.true(answer!.head.map((l) => l.toLowerCase()).includes('connection: keep-alive'));
  t.true(answer!.head.some((line) => /^cache-status: cdn-lab; hit/i.test(line)));
  t.is(answer!.body, 'body of /c');
});

test('an entry stored without a Date goes through writeHead, which adds the current one', async (t) => {
  const { edge } = await rig(t, false);
  expectedMethods = ['GET'];
  await exchange(edge.port, get('/d', 'Connection: close\r\n'));
  const { text } = await exchange(edge.port, get('/d'));
  const [answer] = responses(text);
  const date = answer!.head.find((line) => /^date:/i.test(line));
  t.truthy(date);
  t.true(Math.abs(Date.parse(date!.slice(5).trim()) - Date.now()) < 5000, date);
  t.true(answer!.head.some((line) => /^cache-status: cdn-lab; hit/i.test(line)));
});
