// One root pino logger per process; components take children bound to their context.
import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

export interface LoggerConfig {
  service: string;
  level?: string;
  /** Extra bindings on every line, e.g. `{ edge: 'edge-0', policy: 'lru' }`. */
  base?: Record<string, unknown>;
  /** Write destination; defaults to stdout (fd 1). Tests pass a stream to capture lines. */
  destination?: pino.DestinationStream;
}

export function createLogger(config: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: config.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: config.service, ...config.base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token'], censor: '[redacted]' },
    formatters: { level: (label) => ({ level: label }) },
  };
  // An async destination keeps log writes off the request path (lines may be lost on a hard crash).
  const destination = config.destination ?? pino.destination({ fd: 1, sync: false, minLength: 4096 });
  return pino(options, destination);
}
