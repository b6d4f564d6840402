import test from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BALANCER_ALGORITHMS } from '../../src/topology.ts';
import { NGINX_ALGORITHM_DIRECTIVES, nginxSupports, renderNginxConfig } from '../../src/render/nginx.ts';

const backends = [
  { id: 'edge-0', host: 'edge-0', port: 8080 },
  { id: 'edge-1', host: 'edge-1', port: 8080 },
];

/** The body of the `upstream edges { ... }` block, one trimmed line per entry. */
function upstreamBlock(conf: string): string[] {
  const match = /upstream edges \{\n([\s\S]*?)\n {2}\}/.exec(conf);
  if (!match) throw new Error('no upstream block');
  return match[1]!.split('\n').map((line) => line.trim());
}

test('consistent-hash hashes the request URI with a consistent ring', (t) => {
  const block = upstreamBlock(renderNginxConfig({ algorithm: 'consistent-hash', backends, listenPort: 8080 }));
  t.is(block[0], 'hash $request_uri consistent;');
  t.deepEqual(
    block.filter((line) => line.startsWith('server ')).map((line) => line.split(' ')[1]),
    ['edge-0:8080', 'edge-1:8080'],
  );
});

test('least-connections and power-of-two map to least_conn and random two', (t) => {
  t.is(upstreamBlock(renderNginxConfig({ algorithm: 'least-connections', backends, listenPort: 80 }))[0], 'least_conn;');
  t.is(upstreamBlock(renderNginxConfig({ algorithm: 'power-of-two', backends, listenPort: 80 }))[0], 'random two least_conn;');
});

test('round robin is nginx default: no balancing directive', (t) => {
  const block = upstreamBlock(renderNginxConfig({ algorithm: 'round-robin', backends, listenPort: 8080 }));
  t.true(block[0]!.startsWith('server '));
  t.false(block.some((line) => /^(hash|least_conn|random|ip_hash)\b/.test(line)));
});

test('every balancer algorithm is either mapped or refused with the usable ones named', (t) => {
  for (const algorithm of BALANCER_ALGORITHMS) {
    t.true(algorithm in NGINX_ALGORITHM_DIRECTIVES, algorithm);
  }
  t.false(nginxSupports('bounded-load'));
  const error = t.throws(() => renderNginxConfig({ algorithm: 'bounded-load', backends, listenPort: 8080 }));
  t.regex(error.message, /bounded-load.*round-robin/);
});

test('listen port and backend addresses are validated', (t) => {
  t.throws(() => renderNginxConfig({ algorithm: 'round-robin', backends, listenPort: 0 }), { message: /listen port/ });
  t.throws(() => renderNginxConfig({ algorithm: 'round-robin', backends: [], listenPort: 80 }), { message: /at least one backend/ });
  t.throws(() => renderNginxConfig({ algorithm: 'round-robin', backends: [{ id: 'e', host: 'a;b', port: 80 }], listenPort: 80 }), {
    message: /backend e: host/,
  });
  t.regex(renderNginxConfig({ algorithm: 'round-robin', backends, listenPort: 9000 }), /\n {4}listen 9000;\n/);
});

function nginxAvailable(): string | undefined {
  const probe = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return probe.error ? `nginx not found (${probe.error.message}); install Debian's nginx to run this check` : undefined;
}

const missing = nginxAvailable();
const withNginx = missing ? test.skip : test;
if (missing) process.stderr.write(`render/nginx.test.ts: ${missing}: skipped\n`);

withNginx('nginx -t accepts the rendered config for every algorithm nginx supports', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nginx-conf-'));
  try {
    for (const algorithm of BALANCER_ALGORITHMS.filter(nginxSupports)) {
      // Literal addresses: nginx -t resolves upstream host names, and edge-N resolve only on the lab network.
      const conf = renderNginxConfig({
        algorithm,
        backends: [
          { id: 'edge-0', host: '127.0.0.1', port: 18080 },
          { id: 'edge-1', host: '127.0.0.2', port: 18080 },
        ],
        listenPort: 18081,
        runDir: dir,
        accessLog: path.join(dir, 'access.log'),
      });
      const file = path.join(dir, `${algorithm}.conf`);
      writeFileSync(file, conf);
      const output = execFileSync('nginx', ['-t', '-q', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', file], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      t.is(output.trim(), '', algorithm);
    }
    // And a broken config is rejected, so the check above can fail.
    const broken = path.join(dir, 'broken.conf');
    writeFileSync(broken, renderNginxConfig({ algorithm: 'round-robin', backends, listenPort: 18081, runDir: dir, accessLog: path.join(dir, 'access.log') }).replace('least_conn', '').replace('keepalive 64;', 'keepalive;'));
    t.throws(() => execFileSync('nginx', ['-t', '-q', '-p', dir, '-e', path.join(dir, 'error.log'), '-c', broken], { stdio: 'pipe' }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

withNginx('nginx as the front door answers /metrics, /healthz/ and /_* itself in every spelling it normalises; the edges see none', async (t) => {
  const http = await import('node:http');
  const net = await import('node:net');
  const seen: string[] = [];
  const backend = http.createServer((req, res) => {
    seen.push(req.url ?? '');
    res.end('from the edge');
  });
  await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
  const backendPort = (backend.address() as import('node:net').AddressInfo).port;
  const free = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as import('node:net').AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'nginx-front-'));
  const conf = path.join(dir, 'nginx.conf');
  writeFileSync(conf, renderNginxConfig({ algorithm: 'round-robin', backends: [{ id: 'edge-0', host: '127.0.0.1', port: backendPort }], listenPort: free, runDir: dir, accessLog: path.join(dir, 'access.log') }).replace('worker_processes auto;', 'worker_processes 1;\ndaemon off;'));
  const { spawn } = await import('node:child_process');
  const nginx = spawn('nginx', ['-p', dir, '-e', path.join(dir, 'error.log'), '-c', conf], { stdio: 'ignore' });
  t.teardown(() => {
    nginx.kill('SIGTERM');
    backend.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const raw = (target: string) => new Promise<string>((resolve, reject) => {
    const socket = net.connect(free, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.1\r\nHost: cdn.test\r\nConnection: close\r\n\r\n`));
    let out = '';
    socket.on('data', (chunk) => (out += chunk.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
  // Wait for nginx to listen (bounded: 100 tries).
  for (let i = 0; i < 100; i++) {
    if (await raw('/healthz').then((r) => r.startsWith('HTTP/1.1 200'), () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  for (const target of ['/metrics', '/metrics/', '//metrics', '/%6Detrics', '/./metrics', '/METRICS', '/healthz/', '/_admin/faults', '/%5Fadmin/faults', '/_edge/purge', '/obj/../metrics']) {
    t.regex(await raw(target), /^HTTP\/1\.1 404[\s\S]*"error":"internal_path"/, target);
  }
  t.regex(await raw('/obj/1'), /^HTTP\/1\.1 200[\s\S]*from the edge/);
  t.deepEqual(seen, ['/obj/1']);
});
