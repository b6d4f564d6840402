// Prints a by-hand harness's rounds file as a table (rounds-file.ts).
// Usage: node --import tsx loadtest/src/bench/rounds-file-main.ts <rounds file> <target name>...
import { readFileSync } from 'node:fs';
import { parseRoundsFile, roundsTable, RoundsFileError } from './rounds-file.ts';

const [file, ...names] = process.argv.slice(2);
if (file === undefined) {
  console.error('usage: rounds-file-main.ts <rounds file> <target name>...');
  process.exit(2);
}
try {
  const byTarget = parseRoundsFile(readFileSync(file, 'utf8'));
  console.log(roundsTable(byTarget, names));
  console.log(`${byTarget[0]!.length} rounds; cells: median (min-max); ratios paired by round; cpu_us: the target's CPU (user + system) per request in µs; latencies in ms`);
} catch (error) {
  if (!(error instanceof RoundsFileError) && (error as NodeJS.ErrnoException).code === undefined) throw error;
  console.error(`rounds file ${file}: ${(error as Error).message}`);
  process.exit(2);
}
