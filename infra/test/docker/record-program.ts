// Runs infra/index.ts under Pulumi's mocks with the stack config given as JSON on argv and prints
// every resource it registers (type, name, inputs, dependencies) and the stack outputs as JSON.
// A process of its own per program: Pulumi's runtime state is global.
//   tsx infra/test/docker/record-program.ts '{"stack":"x","config":{...},"secretKeys":[...]}'
import { runProgram, revealSecrets } from '../pulumi/harness.ts';

const { stack, config, secretKeys } = JSON.parse(process.argv[2] ?? '{}') as { stack: string; config: Record<string, string>; secretKeys?: string[] };
const run = await runProgram(config, { stack, secretKeys });
process.stdout.write(JSON.stringify({ resources: revealSecrets(run.resources), outputs: revealSecrets(run.outputs) }));
