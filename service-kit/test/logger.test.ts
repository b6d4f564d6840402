import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { AccessLog, createLogger } from '../src/logger.ts';

function capture() {
  const lines: string[] = [];
  return { lines, destination: { write: (chunk: string) => void lines.push(...chunk.split('\n').filter(Boolean)) } };
}

test('access lines have the logger\'s shape: level, epoch-ms time, bindings, then the fields', (t) => {
  const { lines, destination } = capture();
  const logger = createLogger({ service: 'svc', level: 'info', base: { edge: 'e-1' }, destination });
  logger.info({ a: 1 }, 'from pino');
  const access = new AccessLog(logger);
  t.true(access.enabled);
  const before = Date.now();
  access.write(`"path":${JSON.stringify('/a"b\\c\n')},"status":200`);
  t.is(lines.length, 2);
  const pinoLine = JSON.parse(lines[0] as string) as Record<string, unknown>;
  const accessLine = JSON.parse(lines[1] as string) as Record<string, unknown>;
  t.deepEqual(Object.keys(accessLine), ['level', 'time', 'service', 'edge', 'path', 'status']);
  t.like(accessLine, { level: 'info', service: 'svc', edge: 'e-1', path: '/a"b\\c\n', status: 200 });
  t.true((accessLine.time as number) >= before && (accessLine.time as number) <= Date.now());
  // pino's own lines carry the same kind of time, so one log pipeline parses both.
  t.is(typeof pinoLine.time, 'number');
  t.like(pinoLine, { level: 'info', service: 'svc', edge: 'e-1', a: 1, msg: 'from pino' });
});

test('the access log is off when info is off', (t) => {
  const { lines, destination } = capture();
  const access = new AccessLog(createLogger({ service: 'svc', level: 'warn', destination }));
  t.false(access.enabled);
  t.is(lines.length, 0);
});

test('redaction still applies to the general logger', (t) => {
  const { lines, destination } = capture();
  createLogger({ service: 'svc', level: 'info', destination }).info({ token: 'secret' }, 'x');
  t.false((lines[0] as string).includes('secret'));
});

test('stdout: a line of a quiet process reaches the pipe within the flush interval, the rest on exit', async (t) => {
  // The child writes one access line (far below the batch size), idles 1.5 s, writes one access and one pino line, exits.
  const loggerUrl = new URL('../src/logger.ts', import.meta.url).href;
  const script = `
    import { createLogger, AccessLog } from ${JSON.stringify(loggerUrl)};
    const log = createLogger({ service: 'child', level: 'info' });
    const access = new AccessLog(log);
    access.write('"n":1');
    setTimeout(() => { access.write('"n":2'); log.info({ n: 3 }, 'last'); }, 1500);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  let firstDataAt = 0;
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    firstDataAt ||= Date.now();
    output += chunk;
  });
  const [code] = (await once(child, 'close')) as [number];
  const closedAt = Date.now();
  t.is(code, 0);
  const lines = output.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  // Nothing lost at exit: the access batch and pino's buffer are both flushed (in either order).
  t.deepEqual(lines.map((line) => line.n as number).sort(), [1, 2, 3]);
  // Written by the flush timer, well before the exit flush.
  t.true(closedAt - firstDataAt >= 1000, `first line came ${closedAt - firstDataAt} ms before exit`);
});
