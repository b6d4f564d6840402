// The by-hand harnesses' results (loadtest/scripts/*.sh): a rounds file with one line per
// measurement, "K key value key value ...", K the index of the target it measured, in the order
// rounds ran. Summarized like the bench's own rounds: median (min-max) of each figure per target,
// and its ratio to the first target's taken round by round.
import { formatSpread, plainTable } from './report.ts';
import { pairedRatios, spread } from './summary.ts';

/** The figures of one measurement, by name (requests, rps, p99, cpu_us, ...). */
export type Figures = Record<string, number>;

/** A rounds file that cannot be read; names the line. */
export class RoundsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RoundsFileError';
  }
}

/** Each target's measurements in round order, indexed by target. */
export function parseRoundsFile(text: string): Figures[][] {
  const byTarget: Figures[][] = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    const [index, ...pairs] = line.trim().split(/\s+/);
    const where = `line ${i + 1} ("${line.slice(0, 60)}")`;
    if (!/^\d+$/.test(index!)) throw new RoundsFileError(`${where}: starts with "${index}", not a target index`);
    if (pairs.length === 0 || pairs.length % 2 !== 0) throw new RoundsFileError(`${where}: figures must come as "name value" pairs`);
    const figures: Figures = {};
    for (let p = 0; p < pairs.length; p += 2) {
      const value = Number(pairs[p + 1]);
      if (!Number.isFinite(value)) throw new RoundsFileError(`${where}: ${pairs[p]} is "${pairs[p + 1]}", not a number`);
      figures[pairs[p]!] = value;
    }
    (byTarget[Number(index)] ??= []).push(figures);
  });
  if (byTarget.length === 0) throw new RoundsFileError('no measurements');
  // A plain loop: forEach would skip the holes it is looking for.
  for (let k = 0; k < byTarget.length; k++) {
    if (byTarget[k] === undefined) throw new RoundsFileError(`no measurements of target ${k}`);
  }
  return byTarget;
}

/** Figures not worth a column: the request count only serves to compute the others. */
const NOT_SHOWN = new Set(['requests']);

/** A table: per target, each figure's median (min-max), and per figure its paired ratio to target 0. */
export function roundsTable(byTarget: Figures[][], names: readonly string[]): string {
  const figures = Object.keys(byTarget[0]![0]!).filter((f) => !NOT_SHOWN.has(f));
  const table = plainTable(['target', ...figures]);
  const digits = (value: number) => (Math.abs(value) >= 100 ? 0 : 2);
  const nameOf = (k: number) => names[k] ?? `target ${k}`;
  const series = (k: number, figure: string) => byTarget[k]!.map((r) => r[figure] ?? NaN);
  byTarget.forEach((_, k) => {
    table.push([nameOf(k), ...figures.map((f) => {
      const s = spread(series(k, f));
      return formatSpread(s, digits(s.median));
    })]);
    if (k === 0) return;
    table.push([`  ÷ ${nameOf(0)}`, ...figures.map((f) => {
      const ratios = spread(pairedRatios(series(k, f), series(0, f)));
      return ratios.n === 0 ? '-' : `x${formatSpread(ratios, 3)}`;
    })]);
  });
  return table.toString();
}
