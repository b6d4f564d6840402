// Request collapsing shares only what the cache would serve to anyone (issue 17, finding 3): a
// leader whose own request makes the origin fail must not hand that failure to the clean requests
// waiting for it, and a failed revalidation must not delete the good stored object.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { hitTtlWithin, request, startEdge, testClock, type TestClock } from './helpers.ts';

/** The origin's limit on a request head: lower than the edge's own 16 KiB once Via and X-Forwarded-For are added. */
const ORIGIN_HEAD_LIMIT = 16_000;
/** A client header that the edge accepts (under its 16 KiB) but that takes the forwarded head over the origin's limit. */
const ATTACK_HEADER = 'a'.repeat(ORIGIN_HEAD_LIMIT - 10);

interface HeldOrigin {
  url: string;
  /** Request heads received so far, in order: the size of each and whether it was answered 431. */
  heads: { bytes: number; rejected: boolean }[];
  /** Answers everything held, and from now on answers at once. */
  release(): void;
  close(): Promise<void>;
}

/**
 * A raw-TCP origin with a 16,000-byte limit on request heads (as a server with a lower limit than the
 * edge's, or any origin answering 4xx to a header): 431 above it, else a cacheable 200 with an ETag
 * (304 to a matching If-None-Match). Answers are held until `release()`, so a test can line up the
 * followers behind a leader before the leader's answer arrives.
 */
async function heldOrigin(clock: TestClock): Promise<HeldOrigin> {
  const heads: HeldOrigin['heads'] = [];
  const held: (() => void)[] = [];
  let released = false;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('latin1');
      for (let end = buffered.indexOf('\r\n\r\n'); end !== -1; end = buffered.indexOf('\r\n\r\n')) {
        const head = buffered.slice(0, end + 4);
        buffered = buffered.slice(end + 4);
        const rejected = head.length > ORIGIN_HEAD_LIMIT;
        heads.push({ bytes: head.length, rejected });
        const date = new Date(clock.now()).toUTCString();
        const conditional = /^if-none-match: "v1"\r$/im.test(head);
        const answer = rejected
          ? 'HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain\r\ncontent-length: 9\r\nconnection: close\r\n\r\ntoo large'
          : conditional
            ? `HTTP/1.1 304 Not Modified\r\ndate: ${date}\r\netag: "v1"\r\ncache-control: max-age=60\r\n\r\n`
            : `HTTP/1.1 200 OK\r\ndate: ${date}\r\netag: "v1"\r\ncache-control: max-age=60\r\ncontent-type: text/plain\r\ncontent-length: 5\r\n\r\nclean`;
        const send = () => {
          socket.write(answer);
          if (rejected) socket.end();
        };
        if (released) send();
        else held.push(send);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    heads,
    release() {
      released = true;
      held.splice(0).forEach((send) => send());
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Polls until `condition` holds (bounded), so the test waits for states, not for guessed delays. */
async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('a leader whose header makes the origin answer 431 does not hand it to 30 clean collapsed followers', async (t) => {
  const clock = testClock();
  const origin = await heldOrigin(clock);
  const edge = await startEdge({ UPSTREAM_URLS: origin.url }, clock);
  t.teardown(async () => {
    await edge.close();
    await origin.close();
  });
  const attacker = request(`${edge.url}/popular`, { headers: { 'x-pad': ATTACK_HEADER } });
  await until(() => origin.heads.length === 1, 'the attacker to lead the fetch');
  const clean = Array.from({ length: 30 }, () => request(`${edge.url}/popular`));
  await until(() => edge.edge.coalescer.waiting === 30, '30 collapsed followers');
  origin.release();
  const attacked = await attacker;
  const answers = await Promise.all(clean);
  t.is(attacked.status, 431, 'the attacker gets its own error');
  t.deepEqual(
    answers.map((a) => a.status),
    answers.map(() => 200),
    'every clean follower gets 200',
  );
  t.true(answers.every((a) => a.body === 'clean'));
  // The followers elected one new leader among themselves: one more origin request, not thirty.
  t.is(origin.heads.length, 2);
  t.false(origin.heads[1]?.rejected);
  const hit = await request(`${edge.url}/popular`);
  t.true(hitTtlWithin(hit.headers['cache-status'], 60), String(hit.headers['cache-status']));
});

test('a stale entry survives a revalidation that failed for one client (431), and is revalidated for the next', async (t) => {
  const clock = testClock();
  const origin = await heldOrigin(clock);
  origin.release();
  const edge = await startEdge({ UPSTREAM_URLS: origin.url }, clock);
  t.teardown(async () => {
    await edge.close();
    await origin.close();
  });
  const first = await request(`${edge.url}/page`);
  t.is(first.headers['cache-status'], 'cdn-lab; fwd=uri-miss; stored');
  edge.advance(120_000);
  const attacked = await request(`${edge.url}/page`, { headers: { 'x-pad': ATTACK_HEADER } });
  t.is(attacked.status, 431);
  t.true(origin.heads[1]?.rejected, 'the conditional request was the one rejected');
  const next = await request(`${edge.url}/page`);
  t.is(next.status, 200);
  t.is(next.body, 'clean');
  t.is(next.headers['cache-status'], 'cdn-lab; fwd=stale; fwd-status=304; stored', 'the stored object was still there to revalidate');
});
