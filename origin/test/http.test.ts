import test from 'ava';
import { objectBody, objectMeta } from '../src/catalogue.ts';
import { startOrigin } from './helpers.ts';

test('each path class serves the same object with its own Cache-Control', async (t) => {
  const origin = await startOrigin(t, { ttlLongS: 3600, ttlShortS: 5 });
  const meta = objectMeta(origin.catalogue, 42);
  const expected = { obj: 'public, max-age=3600', short: 'public, max-age=5', nostore: 'no-store' };
  for (const [pathClass, cacheControl] of Object.entries(expected)) {
    const response = await fetch(`${origin.url}/${pathClass}/42`);
    t.is(response.status, 200);
    t.is(response.headers.get('cache-control'), cacheControl);
    t.is(response.headers.get('content-type'), 'application/octet-stream');
    t.is(response.headers.get('content-length'), String(meta.size));
    t.is(response.headers.get('etag'), meta.etag);
    t.is(response.headers.get('last-modified'), meta.lastModifiedHttp);
    t.is(response.headers.get('surrogate-key'), `${pathClass} ${pathClass}-42`);
    const body = Buffer.from(await response.arrayBuffer());
    t.true(body.equals(objectBody(origin.catalogue, 42)), `${pathClass} body`);
  }
});

test('stale windows are appended to the short class only, each only when > 0', async (t) => {
  const cases: Array<[Partial<{ staleWhileRevalidateS: number; staleIfErrorS: number }>, string]> = [
    [{}, 'public, max-age=5'],
    [{ staleWhileRevalidateS: 30 }, 'public, max-age=5, stale-while-revalidate=30'],
    [{ staleIfErrorS: 300 }, 'public, max-age=5, stale-if-error=300'],
    [{ staleWhileRevalidateS: 30, staleIfErrorS: 300 }, 'public, max-age=5, stale-while-revalidate=30, stale-if-error=300'],
  ];
  for (const [stale, short] of cases) {
    const origin = await startOrigin(t, { ttlLongS: 3600, ttlShortS: 5, ...stale });
    const label = JSON.stringify(stale);
    t.is((await fetch(`${origin.url}/short/1`)).headers.get('cache-control'), short, label);
    t.is((await fetch(`${origin.url}/obj/1`)).headers.get('cache-control'), 'public, max-age=3600', label);
    t.is((await fetch(`${origin.url}/nostore/1`)).headers.get('cache-control'), 'no-store', label);
    // A 304 carries the same Cache-Control, so a revalidating edge keeps the windows (RFC 9111 §4.3.4).
    const etag = (await fetch(`${origin.url}/short/1`, { method: 'HEAD' })).headers.get('etag')!;
    const revalidated = await fetch(`${origin.url}/short/1`, { headers: { 'if-none-match': etag } });
    t.is(revalidated.status, 304, label);
    t.is(revalidated.headers.get('cache-control'), short, label);
  }
});

test('bodies are the same with and without the body cache', async (t) => {
  const cached = await startOrigin(t);
  const uncached = await startOrigin(t, { bodyCacheBytes: 0 });
  for (const id of [3, 3, 8]) {
    const a = Buffer.from(await (await fetch(`${cached.url}/obj/${id}`)).arrayBuffer());
    const b = Buffer.from(await (await fetch(`${uncached.url}/obj/${id}`)).arrayBuffer());
    t.true(a.equals(b));
    t.is(a.length, objectMeta(cached.catalogue, id).size);
  }
});

test('If-None-Match with the current ETag gets 304 with validators and no body', async (t) => {
  const origin = await startOrigin(t);
  const meta = objectMeta(origin.catalogue, 7);
  const response = await fetch(`${origin.url}/short/7`, { headers: { 'If-None-Match': `"nope", ${meta.etag}` } });
  t.is(response.status, 304);
  t.is(response.headers.get('etag'), meta.etag);
  t.is(response.headers.get('cache-control'), `public, max-age=${origin.config.ttlShortS}`);
  t.is(response.headers.get('last-modified'), meta.lastModifiedHttp);
  t.is((await response.arrayBuffer()).byteLength, 0);
  const stale = await fetch(`${origin.url}/short/7`, { headers: { 'If-None-Match': '"1-7-0"' } });
  t.is(stale.status, 200);
});

test('If-Modified-Since at or after Last-Modified gets 304, before it gets 200', async (t) => {
  const origin = await startOrigin(t);
  const meta = objectMeta(origin.catalogue, 9);
  const ask = (since: Date) => fetch(`${origin.url}/obj/9`, { headers: { 'If-Modified-Since': since.toUTCString() } });
  t.is((await ask(meta.lastModified)).status, 304);
  t.is((await ask(new Date(meta.lastModified.getTime() + 86_400_000))).status, 304);
  const earlier = await ask(new Date(meta.lastModified.getTime() - 1000));
  t.is(earlier.status, 200);
  t.is((await earlier.arrayBuffer()).byteLength, meta.size);
});

test('If-None-Match wins over If-Modified-Since', async (t) => {
  const origin = await startOrigin(t);
  const meta = objectMeta(origin.catalogue, 11);
  const response = await fetch(`${origin.url}/obj/11`, {
    headers: { 'If-None-Match': '"something-else"', 'If-Modified-Since': meta.lastModifiedHttp },
  });
  t.is(response.status, 200);
});

test('HEAD answers headers only, and honours validators', async (t) => {
  const origin = await startOrigin(t);
  const meta = objectMeta(origin.catalogue, 5);
  const response = await fetch(`${origin.url}/obj/5`, { method: 'HEAD' });
  t.is(response.status, 200);
  t.is(response.headers.get('content-length'), String(meta.size));
  t.is(response.headers.get('etag'), meta.etag);
  t.is((await response.arrayBuffer()).byteLength, 0);
  const conditional = await fetch(`${origin.url}/obj/5`, { method: 'HEAD', headers: { 'If-None-Match': meta.etag } });
  t.is(conditional.status, 304);
});

test('ids outside the catalogue are 404, malformed ids 400, both JSON and not cacheable', async (t) => {
  const origin = await startOrigin(t, { catalogueObjects: 100 });
  const cases: Array<[string, number]> = [
    ['/obj/99', 200],
    ['/obj/100', 404],
    ['/short/123456789012345678901234567890', 404],
    ['/obj/abc', 400],
    ['/obj/-1', 400],
    ['/obj/1.5', 400],
    ['/obj/007', 400],
    ['/obj/%31', 400],
    ['/nostore/1e3', 400],
  ];
  for (const [path, status] of cases) {
    const response = await fetch(origin.url + path);
    t.is(response.status, status, path);
    if (status === 200) continue;
    t.is(response.headers.get('cache-control'), 'no-store', path);
    const body = (await response.json()) as { error: unknown };
    t.is(typeof body.error, 'string', path);
  }
});

test('other methods get 405 with Allow; unknown paths a JSON 404', async (t) => {
  const origin = await startOrigin(t);
  const post = await fetch(`${origin.url}/obj/1`, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
  const unknown = await fetch(`${origin.url}/elsewhere/1`);
  t.is(unknown.status, 404);
  t.regex(((await unknown.json()) as { error: string }).error, /no route for GET \/elsewhere\/1/);
  const nested = await fetch(`${origin.url}/obj/1/2`);
  t.is(nested.status, 404);
});

test('/healthz answers 200 {"status":"ok"}', async (t) => {
  const origin = await startOrigin(t);
  const response = await fetch(`${origin.url}/healthz`);
  t.is(response.status, 200);
  t.deepEqual(await response.json(), { status: 'ok' });
});

test('?size= serves an object at the asked size, with its own ETag; a bad size is a 400', async (t) => {
  const origin = await startOrigin(t, {});
  const plain = await fetch(`${origin.url}/obj/3`);
  const plainBody = Buffer.from(await plain.arrayBuffer());
  const sized = await fetch(`${origin.url}/obj/3?size=1000`);
  const sizedBody = Buffer.from(await sized.arrayBuffer());
  t.is(sized.status, 200);
  t.is(sizedBody.length, 1000);
  t.is(sized.headers.get('content-length'), '1000');
  t.not(sized.headers.get('etag'), plain.headers.get('etag'));
  // Same id, same bytes: a shorter body is a prefix of the pattern.
  t.true(plainBody.subarray(0, Math.min(1000, plainBody.length)).equals(sizedBody.subarray(0, Math.min(1000, plainBody.length))));
  const again = await fetch(`${origin.url}/obj/3?size=1000`, { headers: { 'if-none-match': sized.headers.get('etag')! } });
  t.is(again.status, 304);
  for (const bad of ['-1', 'abc', '1e3', '99999999999', '']) {
    const response = await fetch(`${origin.url}/obj/3?size=${bad}`);
    t.is(response.status, 400, `size=${bad}`);
    t.regex(((await response.json()) as { error: string }).error, /malformed size/);
  }
});
