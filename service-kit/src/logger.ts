// One root pino logger per process; components take children bound to their context. Services
// that log every request write those lines through an `AccessLog`.
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Extra bindings on every line, e.g. `{ edge: 'edge-0', policy: 'lru' }`. */
  base?: Record<string, unknown>;
  /** Write destination; defaults to stdout (fd 1). Tests pass a stream to capture lines. */
  destination?: DestinationStream;
}

/**
 * The most one write(2) carries: PIPE_BUF, so that on a pipe (Docker's and systemd's stdout) the
 * batches of several processes writing to it (EDGE_WORKERS) never interleave; a file opened for
 * appending keeps whole writes apart anyway. Every write holds whole lines.
 */
const MAX_WRITE_BYTES = 4096;
/** Logger lines are collected until a batch reaches this many bytes (or the flush tick). */
const STDOUT_BATCH_BYTES = 2048;
/** Longest a line waits in a batch when traffic is low. */
const STDOUT_FLUSH_MS = 250;
/** Access lines are handed to the destination in batches of at most this many characters (one line alone may be longer). */
const ACCESS_BATCH_CHARS = MAX_WRITE_BYTES;
/**
 * The stdout destinations made here, each with the batches kept in front of it (AccessLogs):
 * its flush tick and exit handler empty those first, then the destination. An AccessLog on any
 * other destination (a test's capture stream) writes each line at once.
 */
const STDOUT_BATCHES = new WeakMap<DestinationStream, Set<() => void>>();

export function createLogger(config: LoggerConfig): Logger {
  // Times are epoch milliseconds (`"time":1763932800000`): pino's ISO formatter was over a third
  // of a line's cost (loadtest/BENCH.md); the log pipeline (grafana/alloy) parses them as UnixMs.
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: config.service, ...config.base },
    timestamp: pino.stdTimeFunctions.epochTime,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  return pino(options, config.destination ?? stdoutDestination());
}

/**
 * The one-line-per-request access log, as JSON lines of the same shape as the logger's own (level,
 * time, bindings, then the fields), written to the same destination. Built from a template instead
 * of through pino, and handed over in batches: pino's serializer and redaction, and sonic-boom's
 * bookkeeping per write, cost more than the rest of a cache hit (loadtest/BENCH.md); an access
 * line's fields are fixed and known to the caller.
 */
export class AccessLog {
  /** Whether `info` lines are written; check it before building a line. */
  readonly enabled: boolean;
  private readonly destination: DestinationStream;
  /** `,"service":"edge-node",...`: the logger's bindings as JSON members. */
  private readonly bindings: string;
  private readonly batched: boolean;
  private pending = '';

  constructor(logger: Logger) {
    this.enabled = logger.isLevelEnabled('info');
    this.destination = (logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym] as DestinationStream;
    const bindings = JSON.stringify(logger.bindings());
    this.bindings = bindings === '{}' ? '' : `,${bindings.slice(1, -1)}`;
    const batches = STDOUT_BATCHES.get(this.destination);
    this.batched = batches !== undefined;
    batches?.add(() => this.handOver());
  }

  /** Writes one line; `fields` are JSON members without braces (`"status":200,"path":"/a"`). */
  write(fields: string): void {
    const line = `{"level":"info","time":${Date.now()}${this.bindings},${fields}}\n`;
    if (!this.batched) {
      this.destination.write(line);
      return;
    }
    // A full batch is past the destination's own batch size, so it is written at once.
    if (this.pending.length + line.length > ACCESS_BATCH_CHARS) this.handOver();
    this.pending += line;
  }

  /** Hands the batch to the destination (whose flush tick, right after, writes it out). */
  private handOver(): void {
    if (this.pending === '') return;
    const batch = this.pending;
    this.pending = '';
    this.destination.write(batch);
  }
}

/**
 * stdout, written synchronously in batches. An asynchronous sonic-boom hands every 4 KiB to libuv's
 * thread pool; on a process pinned to one core those threads take the CPU from the requests, and
 * the edge served half the hits/s with per-request logging on (loadtest/BENCH.md). One synchronous
 * write(2) per batch costs less than the hand-off. A line waits at most STDOUT_FLUSH_MS; a full
 * pipe blocks the writer (as nginx's access_log does) instead of growing memory. Lines still in the
 * batch are written on a normal exit (an exit handler flushes) but lost on a hard crash.
 */
function stdoutDestination(): DestinationStream {
  const destination = pino.destination({ fd: 1, sync: true, minLength: STDOUT_BATCH_BYTES, maxWrite: MAX_WRITE_BYTES });
  const batches = new Set<() => void>();
  STDOUT_BATCHES.set(destination, batches);
  const flush = () => {
    for (const handOver of batches) handOver();
    // flush(), not flushSync(): the latter also fsyncs, a disk flush every tick when stdout is a file.
    destination.flush();
  };
  setInterval(flush, STDOUT_FLUSH_MS).unref();
  // pino registers an exit flush only for asynchronous destinations; a synchronous one with a batch needs its own.
  process.on('exit', flush);
  return destination;
}
