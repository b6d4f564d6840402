// One way to read a service's configuration: environment variables validated by a zod schema.
// Env vars work the same for the local lab (spawned processes), Docker and AWS.
import { z } from 'zod';

export class ConfigError extends Error {
  readonly issues: string[];
  constructor(source: string, issues: string[]) {
    super(`invalid ${source}:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** Formats zod issues as `path: reason` lines, so a user sees which field was wrong and why. */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

/** Parses `input` with `schema` or throws a ConfigError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, input: unknown, source: string): z.output<S> {
  const result = schema.safeParse(input);
  if (!result.success) throw new ConfigError(source, formatIssues(result.error));
  return result.data;
}

/**
 * Reads a service config from environment variables. `envNames` maps each config field to its
 * variable (e.g. `{ port: 'PORT' }`); unset variables are left out so the schema's defaults apply,
 * and errors name the variable, not the internal field.
 */
export function configFromEnv<S extends z.ZodObject>(
  schema: S,
  envNames: Record<keyof z.output<S> & string, string>,
  env: NodeJS.ProcessEnv = process.env,
): z.output<S> {
  const raw: Record<string, string> = {};
  for (const [field, variable] of Object.entries(envNames)) {
    const value = env[variable];
    if (value !== undefined && value !== '') raw[field] = value;
  }
  const result = schema.safeParse(raw);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => {
      const field = String(issue.path[0] ?? '');
      const variable = (envNames as Record<string, string>)[field] ?? field;
      return `${variable}: ${issue.message}`;
    });
    throw new ConfigError('environment', issues);
  }
  return result.data;
}

/**
 * The inverse of `configFromEnv`: the environment variables that give back (part of) a config.
 * Fields left undefined are left out; `format` renders fields whose value is not a plain scalar
 * (lists of URLs and the like); everything else is `String(value)`.
 */
export function renderEnv<C extends object>(
  config: Partial<C>,
  envNames: Record<keyof C & string, string>,
  format: { [K in keyof C]?: (value: NonNullable<C[K]>) => string } = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [field, variable] of Object.entries(envNames) as [keyof C & string, string][]) {
    const value = config[field];
    if (value === undefined || value === null) continue;
    const render = format[field] as ((value: unknown) => string) | undefined;
    out[variable] = render ? render(value) : Array.isArray(value) ? value.join(',') : String(value);
  }
  return out;
}

/** Shared zod pieces for env parsing. */
export const env = {
  port: () => z.coerce.number().int().min(0).max(65535),
  host: () => z.string().min(1),
  bool: () =>
    z.union([z.boolean(), z.enum(['true', 'false', '1', '0'])]).transform((v) => v === true || v === 'true' || v === '1'),
  url: () => z.url({ protocol: /^https?$/ }),
  /** A comma-separated list of URLs. */
  urlList: () =>
    z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(z.url({ protocol: /^https?$/ }))),
};
