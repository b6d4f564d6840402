// Byte sizes and durations as people write them in topology files ("64MiB", "30s").
import { z } from 'zod';

const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** Parses "64MiB", "1.5 GB", "4096" (bytes) into an integer byte count; undefined if malformed. */
export function parseBytes(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!match) return undefined;
  const factor = BYTE_UNITS[(match[2] || 'b').toLowerCase()];
  if (factor === undefined) return undefined;
  return Math.round(Number(match[1]) * factor);
}

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${Number.isInteger(value) ? value : value.toFixed(1)}${units[unit]}`;
}

/** A positive byte size written as a number or a string with a unit. */
export const byteSize = () =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const bytes = typeof value === 'number' ? value : parseBytes(value);
    if (bytes === undefined || !Number.isInteger(bytes) || bytes <= 0) {
      ctx.addIssue({ code: 'custom', message: `expected a positive byte size like 67108864 or "64MiB", got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return bytes;
  });

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000 };

/** Parses "500ms", "30s", "2m" into milliseconds; undefined if malformed. */
export function parseDurationMs(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)\s*$/i.exec(text);
  if (!match) return undefined;
  return Math.round(Number(match[1]) * DURATION_UNITS[match[2]!.toLowerCase()]!);
}

/** A duration written as milliseconds or a string like "30s". */
export const duration = () =>
  z.union([z.number(), z.string()]).transform((value, ctx) => {
    const ms = typeof value === 'number' ? value : parseDurationMs(value);
    if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
      ctx.addIssue({ code: 'custom', message: `expected a duration like 30000 (ms) or "30s", got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return ms;
  });
