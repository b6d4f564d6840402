#!/usr/bin/env -S node --import tsx
// Stand-alone entry of the simulator: `npx tsx loadtest/src/sim/cli.ts --trace t.csv --policies lru,sieve
// --capacities 0.001,0.01,0.1`. Bad flags and bad trace lines end with a message and exit code 2.
import { CommanderError } from 'commander';
import { SimulationInputError } from './simulate.ts';
import { simulateCommand } from './command.ts';
import { TraceError } from './trace.ts';

const command = simulateCommand('simulate').exitOverride().showHelpAfterError();

try {
  await command.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // commander already printed the message (or the help text).
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else if (error instanceof TraceError || error instanceof SimulationInputError || error instanceof RangeError) {
    process.stderr.write(`simulate: ${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`simulate: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
