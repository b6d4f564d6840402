// What the by-hand scripts share: a positive-integer flag, or exit 2 naming it.
export function positiveIntFlag(name: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) {
    process.stderr.write(`--${name} must be a positive integer, got "${raw}"\n`);
    process.exit(2);
  }
  return value;
}
