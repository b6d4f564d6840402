// The origin as an express app, built from typed deps and never listening (tests drive it in-process).
//
// One request's path: count+log hook (on close) -> route -> [catalogue: delay -> down? -> error? ->
// parse id -> validators -> 304 or body] | healthz | metrics | admin | 404.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleepMs } from 'node:timers/promises';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { LRUCache } from 'lru-cache';
import { bearerToken, createLogger, formatIssues, secretCheck, type Logger } from '@cdn-lab/service-kit';
import { mulberry32 } from '@cdn-lab/service-kit';
import { hashString, hashWords, objectBody, objectMeta, objectSize, type CatalogueSpec } from './catalogue.ts';
import { isNotModified } from './conditional.ts';
import { catalogueSpecOf, type OriginConfig } from './config.ts';
import { createFaultState, faultsPatchSchema, type FaultRandom, type FaultState } from './faults.ts';
import { createOriginMetrics, routeOf, type OriginMetrics } from './metrics.ts';

export interface OriginDeps {
  /** Request log destination; defaults to a pino logger on stdout at `config.logLevel`. */
  logger?: Logger;
  /** Monotonic clock in ms, for request durations (default `performance.now`). */
  now?: () => number;
  /** Uniform [0, 1) source for both fault draws; default: two PRNG streams seeded from the config. */
  random?: () => number;
  /** How injected latency waits (default a timer); tests pass a recorder. */
  sleep?: (ms: number) => Promise<void>;
  /** Export prom-client's process metrics too (default true). */
  defaultMetrics?: boolean;
}

export interface OriginApp {
  app: Express;
  metrics: OriginMetrics;
  faults: FaultState;
  catalogue: CatalogueSpec;
}

/** The three path classes: same catalogue, different caching instructions. */
export const PATH_CLASSES = ['obj', 'short', 'nostore'] as const;
export type PathClass = (typeof PATH_CLASSES)[number];

export function cacheControlFor(pathClass: PathClass, config: OriginConfig): string {
  switch (pathClass) {
    case 'obj':
      return `public, max-age=${config.ttlLongS}`;
    case 'short': {
      // Only the short-TTL class goes stale often enough for RFC 5861 windows to matter.
      let value = `public, max-age=${config.ttlShortS}`;
      if (config.staleWhileRevalidateS > 0) value += `, stale-while-revalidate=${config.staleWhileRevalidateS}`;
      if (config.staleIfErrorS > 0) value += `, stale-if-error=${config.staleIfErrorS}`;
      return value;
    }
    case 'nostore':
      return 'no-store';
  }
}

/** Surrogate-Key tags (space-separated, as Fastly reads them): the class and one of 100 groups. */
export function surrogateKeyFor(pathClass: PathClass, id: number): string {
  return `${pathClass} ${pathClass}-${id % 100}`;
}

type IdParse = { ok: true; id: number } | { ok: false; status: 400 | 404; error: string };

/** Longest decimal id that still parses exactly (ids beyond the catalogue are a 404 anyway). */
const MAX_ID_DIGITS = 15;

/**
 * Canonical ids only: decimal digits without leading zeros or percent-encoding, so each object
 * has exactly one URL (one cache key at the edges).
 */
/** Largest body a `?size=` override may ask for (trace replay: real traces' objects reach a few MiB). */
export const MAX_SIZE_OVERRIDE_BYTES = 64 * 1024 * 1024;

export type SizeParse = { ok: true; size: number | undefined } | { ok: false; status: 400; error: string };

/**
 * The optional `?size=<bytes>` of a catalogue request: replaying a trace needs each key at the
 * trace's own size. Absent: the catalogue's size. The size is part of the URL, so it is part of
 * every cache key, and of the ETag.
 */
export function parseSizeOverride(query: unknown): SizeParse {
  const raw = (query as Record<string, unknown> | undefined)?.size;
  if (raw === undefined) return { ok: true, size: undefined };
  if (typeof raw !== 'string' || !/^(?:0|[1-9][0-9]{0,9})$/.test(raw) || Number(raw) > MAX_SIZE_OVERRIDE_BYTES) {
    return { ok: false, status: 400, error: `malformed size ${JSON.stringify(String(raw).slice(0, 32))}: expected bytes from 0 to ${MAX_SIZE_OVERRIDE_BYTES}` };
  }
  return { ok: true, size: Number(raw) };
}

export function parseObjectId(raw: string, objects: number): IdParse {
  if (!/^(?:0|[1-9][0-9]*)$/.test(raw)) {
    return { ok: false, status: 400, error: `malformed object id ${JSON.stringify(raw.slice(0, 64))}: expected a decimal integer without leading zeros` };
  }
  const id = raw.length > MAX_ID_DIGITS ? Number.POSITIVE_INFINITY : Number(raw);
  if (id >= objects) return { ok: false, status: 404, error: `object ${raw.slice(0, 64)} is not in the catalogue (ids 0..${objects - 1})` };
  return { ok: true, id };
}

function sendJson(res: Response, status: number, body: unknown, cacheControl = 'no-store'): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.setHeader('Cache-Control', cacheControl);
  res.end(text);
}

function sendError(res: Response, status: number, error: string): void {
  sendJson(res, status, { error });
}

function methodNotAllowed(allow: string) {
  return (req: Request, res: Response) => {
    res.setHeader('Allow', allow);
    sendError(res, 405, `method ${req.method} not allowed here (allowed: ${allow})`);
  };
}

/** Bearer-token gate for /_admin/* (compared in constant time); without a token the routes do not exist (404). */
function requireAdminToken(token: string | undefined) {
  const matches = token === undefined ? undefined : secretCheck(token);
  return (req: Request, res: Response, next: NextFunction) => {
    if (matches === undefined) return sendError(res, 404, 'admin endpoints are disabled: ADMIN_TOKEN is not set');
    if (!matches(bearerToken(req.headers.authorization))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="cdn-lab-origin"');
      return sendError(res, 401, 'missing or wrong bearer token');
    }
    next();
  };
}

function defaultFaultRandom(config: OriginConfig): FaultRandom {
  const base = hashWords(config.catalogueSeed, hashString(config.originId));
  return { jitter: mulberry32(hashWords(base, 1)), error: mulberry32(hashWords(base, 2)) };
}

export function createOriginApp(config: OriginConfig, deps: OriginDeps = {}): OriginApp {
  const logger =
    deps.logger ?? createLogger({ service: 'origin', level: config.logLevel, base: { origin: config.originId } });
  const now = deps.now ?? (() => performance.now());
  const sleep = deps.sleep ?? ((ms: number) => sleepMs(ms));
  const catalogue = catalogueSpecOf(config);
  const metrics = createOriginMetrics({ originId: config.originId, defaultMetrics: deps.defaultMetrics ?? true });
  const random = deps.random;
  const faults = createFaultState(
    {
      latencyDistribution: config.latencyDistribution,
      latencyMs: config.latencyMs,
      jitterMs: config.latencyJitterMs,
      latencySigma: config.latencySigma,
      latencyParetoAlpha: config.latencyParetoAlpha,
      latencyMaxMs: config.latencyMaxMs,
      errorRate: config.errorRate,
      down: false,
    },
    random ? { jitter: random, error: random } : defaultFaultRandom(config),
  );
  const bodies =
    config.bodyCacheBytes > 0
      ? new LRUCache<number | string, Buffer>({ maxSize: config.bodyCacheBytes, sizeCalculation: (body) => Math.max(1, body.length) })
      : undefined;
  const bodyOf = (id: number, size: number): Buffer => {
    // Catalogue-sized bodies are keyed by id; overridden sizes (trace replay) by id and size.
    const key = size === objectSize(catalogue, id) ? id : `${id}/${size}`;
    let body = bodies?.get(key);
    if (body === undefined) {
      body = objectBody(catalogue, id, size);
      bodies?.set(key, body);
    }
    return body;
  };

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // Counts and logs every request exactly once, whatever its fate ('close' fires after 'finish'
  // and also when the client goes away first): the lab compares this count with the edges'.
  app.use((req, res, next) => {
    const start = now();
    const route = routeOf(req.path);
    res.once('close', () => {
      const seconds = (now() - start) / 1000;
      const completed = res.writableFinished;
      // A client that left before any answer: counted as 499 in nginx's tradition (a 4xx).
      const status = completed || res.headersSent ? res.statusCode : 499;
      const bytes = completed && req.method !== 'HEAD' ? Number(res.getHeader('Content-Length') ?? 0) : 0;
      metrics.observe(route, status, seconds, bytes);
      if (logger.isLevelEnabled('info')) {
        logger.info(
          { method: req.method, url: req.originalUrl, route, status, bytes, ms: Math.round(seconds * 1e4) / 10, ...(completed ? {} : { aborted: true }) },
          'request',
        );
      }
    });
    next();
  });

  for (const pathClass of PATH_CLASSES) {
    const cacheControl = cacheControlFor(pathClass, config);
    const prefixLength = pathClass.length + 2; // "/<class>/"
    app.get(`/${pathClass}/:id`, async (req, res) => {
      const delayMs = faults.drawDelayMs();
      if (delayMs > 0) {
        metrics.faults.inc({ kind: 'latency' });
        await sleep(delayMs);
        if (res.destroyed) return; // the client gave up while we waited
      }
      if (faults.isDown()) {
        metrics.faults.inc({ kind: 'down' });
        return sendError(res, 503, 'origin is down (fault injection)');
      }
      if (faults.drawError()) {
        metrics.faults.inc({ kind: 'error' });
        return sendError(res, 500, 'injected error (error rate)');
      }
      // The raw path segment, not req.params (which is percent-decoded): see parseObjectId.
      const parsed = parseObjectId(req.path.slice(prefixLength), catalogue.objects);
      if (!parsed.ok) return sendError(res, parsed.status, parsed.error);
      const sizeOverride = parseSizeOverride(req.query);
      if (!sizeOverride.ok) return sendError(res, sizeOverride.status, sizeOverride.error);
      const meta = objectMeta(catalogue, parsed.id, sizeOverride.size);
      res.setHeader('Cache-Control', cacheControl);
      res.setHeader('ETag', meta.etag);
      res.setHeader('Last-Modified', meta.lastModifiedHttp);
      res.setHeader('Surrogate-Key', surrogateKeyFor(pathClass, parsed.id));
      if (isNotModified(req.method, req.headers, meta)) {
        res.statusCode = 304;
        res.end();
        return;
      }
      res.statusCode = 200;
      res.setHeader('Content-Type', 'application/octet-stream');
      res.setHeader('Content-Length', meta.size);
      res.end(req.method === 'HEAD' ? undefined : bodyOf(parsed.id, meta.size));
    });
    app.all(`/${pathClass}/:id`, methodNotAllowed('GET, HEAD'));
  }

  app.get('/healthz', (_req, res) => sendJson(res, 200, { status: 'ok' }));

  app.get('/metrics', async (_req, res) => {
    const text = await metrics.registry.metrics();
    res.statusCode = 200;
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.setHeader('Cache-Control', 'no-store');
    res.end(text);
  });

  // Fault injection can take the origin down: only for whoever holds ADMIN_TOKEN.
  app.use('/_admin', requireAdminToken(config.adminToken));
  app.get('/_admin/faults', (_req, res) => sendJson(res, 200, faults.current()));
  app.put('/_admin/faults', express.json({ limit: '16kb' }), (req, res) => {
    if (req.body === undefined) return sendError(res, 400, 'expected a JSON object body with Content-Type: application/json');
    const parsed = faultsPatchSchema.safeParse(req.body);
    if (!parsed.success) {
      const issues = formatIssues(parsed.error);
      return sendJson(res, 400, { error: `invalid faults: ${issues.join('; ')}`, issues });
    }
    const updated = faults.update(parsed.data);
    logger.info({ faults: updated }, 'faults updated');
    sendJson(res, 200, updated);
  });
  app.delete('/_admin/faults', (_req, res) => {
    const restored = faults.reset();
    logger.info({ faults: restored }, 'faults reset');
    sendJson(res, 200, restored);
  });
  app.all('/_admin/faults', methodNotAllowed('GET, PUT, DELETE'));

  app.use((req, res) => sendError(res, 404, `no route for ${req.method} ${req.path.slice(0, 128)}`));

  // Last resort: body-parser's errors carry a 4xx status; anything else is our bug, logged as such.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    const clientError = typeof status === 'number' && status >= 400 && status < 500;
    if (!clientError) logger.error({ err: error }, 'unhandled error');
    if (res.headersSent) return void res.destroy();
    if (!clientError) return sendError(res, 500, 'internal error');
    const message = error instanceof Error ? error.message : String(error);
    const invalidJson = (error as { type?: unknown }).type === 'entity.parse.failed';
    sendError(res, status, invalidJson ? `invalid JSON body: ${message}` : `bad request: ${message}`);
  });

  return { app, metrics, faults, catalogue };
}
