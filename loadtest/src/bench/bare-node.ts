// `bare-node`, the bench's reference for what Node itself costs: a node:http server that keeps
// whole upstream responses in a Map and answers from it with writeHead + end, the "plain node:http
// handler with a Map" of issue 8. No HTTP caching semantics (every 200 is kept, forever), no
// coalescing, no eviction, no metrics, no logs. The edge's gap to it is what its features cost;
// its own gap to nginx is the runtime's, which no edge built on node:http can close.
// Run by bare-node-main.ts.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';

interface Kept {
  status: number;
  headers: string[];
  body: Buffer;
}

/** Fields not kept: recomputed by node:http, or about the upstream connection. */
const NOT_KEPT = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length', 'date']);

export function startBareNode(port: number, originUrl: string): Promise<http.Server> {
  const origin = new URL(originUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const kept = new Map<string, Kept>();

  const answer = (res: ServerResponse, entry: Kept, cache: 'HIT' | 'MISS') => {
    res.writeHead(entry.status, entry.headers.concat('x-cache', cache));
    res.end(entry.body);
  };

  const fetchAndKeep = (req: IncomingMessage, res: ServerResponse, url: string) => {
    const upstream = http.get({ host: origin.hostname, port: origin.port, path: url, agent }, (upstreamRes) => {
      const chunks: Buffer[] = [];
      upstreamRes.on('data', (chunk: Buffer) => chunks.push(chunk));
      upstreamRes.on('end', () => {
        const headers: string[] = [];
        const raw = upstreamRes.rawHeaders;
        for (let i = 0; i < raw.length; i += 2) if (!NOT_KEPT.has((raw[i] as string).toLowerCase())) headers.push(raw[i] as string, raw[i + 1] as string);
        const body = Buffer.concat(chunks);
        headers.push('content-length', String(body.length));
        const entry = { status: upstreamRes.statusCode ?? 502, headers, body };
        if (entry.status === 200) kept.set(url, entry);
        answer(res, entry, 'MISS');
      });
      upstreamRes.on('error', () => res.destroy());
    });
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-length': 0 });
      res.end();
    });
    req.on('close', () => {
      if (!res.writableFinished) upstream.destroy();
    });
  };

  const server = http.createServer((req, res) => {
    const url = req.url as string;
    if (url === '/healthz') {
      res.writeHead(200, { 'content-length': 2 });
      res.end('ok');
      return;
    }
    const entry = kept.get(url);
    if (entry !== undefined) answer(res, entry, 'HIT');
    else fetchAndKeep(req, res, url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
