// The service images, checked without a Docker engine: the Dockerfile is linted and parsed, each
// target's shape is asserted (multi-stage, non-root, HEALTHCHECK, only its own workspaces), and
// each target's CMD is run here the way the image runs it, with its HEALTHCHECK command.
import test from 'ava';
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { parseTopology } from '../src/topology.ts';
import { planServices, resolveEnv, SERVICE_PROGRAMS, type ServiceKind } from '../src/plan.ts';
import { OBSERVABILITY_IMAGES } from '../src/docker/observability.ts';
import { IMAGE_DASHBOARDS_DIR } from '../src/aws/observability.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DOCKERFILE = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8');
const DOCKERIGNORE = readFileSync(path.join(ROOT, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const KINDS = Object.keys(SERVICE_PROGRAMS) as ServiceKind[];

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

function parseStages(): Map<string, Stage> {
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const instruction of DockerfileParser.parse(DOCKERFILE).getInstructions()) {
    if (instruction.getKeyword() === 'FROM') {
      const args = instruction.getArguments().map((a) => a.getValue());
      const asIndex = args.findIndex((a) => a.toUpperCase() === 'AS');
      current = { name: asIndex >= 0 ? args[asIndex + 1]! : `#${stages.size}`, base: args[0]!, instructions: [] };
      stages.set(current.name, current);
    } else {
      current?.instructions.push(instruction);
    }
  }
  return stages;
}
const STAGES = parseStages();

/** A stage's instructions with those of the stages it is built FROM (outermost first). */
function lineage(name: string): Instruction[] {
  const stage = STAGES.get(name);
  if (!stage) return [];
  return [...lineage(stage.base), ...stage.instructions];
}
const ofKind = (instructions: Instruction[], keyword: string) => instructions.filter((i) => i.getKeyword() === keyword);
const DOCKERFILE_LINES = DOCKERFILE.split('\n');
/** An instruction's text after its keyword, flags included (`--from=...`), continuations joined. */
const raw = (i: Instruction) => {
  const { start, end } = i.getRange();
  const text = DOCKERFILE_LINES.slice(start.line, end.line + 1).join('\n').replace(/\\\n\s*/g, ' ');
  return text.slice(text.indexOf(i.getInstruction()) + i.getInstruction().length).trim();
};

/** The workspace and every @cdn-lab workspace it depends on, transitively. */
function workspaceClosure(workspace: string, seen = new Set<string>()): Set<string> {
  seen.add(workspace);
  const manifest = JSON.parse(readFileSync(path.join(ROOT, workspace, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    const match = /^@cdn-lab\/(.+)$/.exec(dep);
    if (match && !seen.has(match[1]!)) workspaceClosure(match[1]!, seen);
  }
  return seen;
}

/** CMD in exec form as an argv. */
function cmdOf(target: string): string[] {
  const cmds = ofKind(lineage(target), 'CMD');
  const cmd = cmds.at(-1);
  if (!cmd) throw new Error(`${target}: no CMD`);
  return JSON.parse(raw(cmd)) as string[];
}

/** The HEALTHCHECK's CMD argv (exec form). */
function healthcheckOf(target: string): string[] {
  const check = ofKind(lineage(target), 'HEALTHCHECK').at(-1);
  if (!check) throw new Error(`${target}: no HEALTHCHECK`);
  const match = /\bCMD\s+(\[[\s\S]*\])\s*$/.exec(raw(check));
  if (!match) throw new Error(`${target}: HEALTHCHECK is not in exec form`);
  return JSON.parse(match[1]!) as string[];
}

test('the Dockerfile lints clean (dockerfile-utils)', (t) => {
  const problems = validate(DOCKERFILE).map((d) => `line ${d.range.start.line + 1}: ${d.message}`);
  t.deepEqual(problems, []);
  // The linter is live: a known-bad file is flagged.
  t.true(validate('FROM node:24-slim\nMAINTAINER someone\nEXPOSE 8080/tcpx\n').length > 0);
});

for (const kind of KINDS) {
  const { workspace, entry } = SERVICE_PROGRAMS[kind];

  test(`${workspace}: multi-stage, non-root, health-checked, exec-form CMD running ${entry}`, (t) => {
    const stage = STAGES.get(workspace);
    t.truthy(stage, `no stage named ${workspace}`);
    const instructions = lineage(workspace);
    t.true(STAGES.has(`${workspace}-deps`), 'dependencies are installed in their own stage');
    const users = ofKind(instructions, 'USER').map(raw);
    t.true(users.length > 0 && !['root', '0'].includes(users.at(-1)!), `runs as ${users.at(-1) ?? 'root'}`);
    t.is(ofKind(instructions, 'HEALTHCHECK').length, 1);
    t.deepEqual(ofKind(instructions, 'EXPOSE').map(raw), ['8080']);
    const env = ofKind(instructions, 'ENV').map(raw).join(' ');
    t.regex(env, /HOST=0\.0\.0\.0/);
    t.regex(env, /PORT=8080/);
    t.deepEqual(cmdOf(workspace), ['node', entry]);
    t.is(ofKind(instructions, 'ENTRYPOINT').length, 0, 'CMD alone, so `docker run image node -e ...` works');
  });

  test(`${workspace}: only its own workspaces and production dependencies`, (t) => {
    const closure = workspaceClosure(workspace);
    const install = ofKind(STAGES.get(`${workspace}-deps`)?.instructions ?? [], 'RUN').map(raw).join('\n');
    t.regex(install, new RegExp(`npm ci --omit=dev .*-w ${workspace}$`, 'm'));
    const copies = ofKind(STAGES.get(workspace)?.instructions ?? [], 'COPY');
    const fromContext = copies.filter((c) => !raw(c).startsWith('--from'));
    const copied = new Set(fromContext.map((c) => raw(c).split(/\s+/)[0]!.split('/')[0]!));
    t.deepEqual([...copied].sort(), [...closure].sort());
    for (const c of fromContext) {
      const [source] = raw(c).split(/\s+/);
      t.true(/^[a-z-]+\/(package\.json|src)$/.test(source!), `copies only manifests and src: ${source}`);
    }
    const fromDeps = copies.filter((c) => raw(c).startsWith('--from'));
    // The whole /app: npm nests a workspace's own dependency versions under <workspace>/node_modules.
    t.deepEqual(fromDeps.map(raw), [`--from=${workspace}-deps /app ./`]);
  });
}

test('no syntax directive: BuildKit would fetch that frontend from a registry, and builds here reach none', (t) => {
  t.notRegex(DOCKERFILE, /^#\s*syntax\s*=/im);
});

test('.dockerignore admits exactly what the stages copy and never node_modules', (t) => {
  t.is(DOCKERIGNORE[0], '*', 'allow-list: everything is ignored unless admitted');
  t.true(DOCKERIGNORE.includes('**/node_modules'));
  const admitted = new Set(DOCKERIGNORE.filter((l) => l.startsWith('!')).map((l) => l.slice(1).replace(/\/$/, '')));
  const sources = ofKind(DockerfileParser.parse(DOCKERFILE).getInstructions(), 'COPY')
    .map(raw)
    .filter((args) => !args.startsWith('--from'))
    .flatMap((args) => args.split(/\s+/).slice(0, -1));
  for (const source of sources) t.true(admitted.has(source), `${source} is admitted`);
  for (const entry of admitted) t.true(sources.includes(entry), `${entry} is used by a COPY`);
});

// Run each image's CMD the way the container would (WORKDIR /app = the repository root), on
// loopback. Node 24 in the image strips types itself; Node 20 here needs tsx for the same files.
for (const kind of KINDS) {
  const { workspace } = SERVICE_PROGRAMS[kind];
  test(`${workspace}: the image's CMD starts the service, its HEALTHCHECK passes, SIGTERM stops it`, async (t) => {
    const [program, script, ...args] = cmdOf(workspace);
    t.is(program, 'node');
    const plan = planServices(parseTopology({ origin: { latencyMs: 0, jitterMs: 0 } })).find((p) => p.kind === kind)!;
    // Other services are not running: links point at a closed port (only /healthz is asked).
    const env = { PATH: process.env.PATH ?? '', ...resolveEnv(plan, () => 'http://127.0.0.1:9'), HOST: '127.0.0.1', PORT: '0', NODE_ENV: 'production' };
    const child = fork(path.join(ROOT, script!), args, { cwd: ROOT, env, execArgv: ['--import=tsx'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ready message in 20 s; stderr: ${stderr}`)), 20_000);
        child.on('message', (message: { type?: string; port?: number }) => {
          if (message.type === 'ready' && message.port) {
            clearTimeout(timer);
            resolve(message.port);
          }
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before ready; stderr: ${stderr}`)));
      });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      t.is(health.status, 200);
      t.like(await health.json(), { status: 'ok' });

      const [checkProgram, ...checkArgs] = healthcheckOf(workspace);
      t.is(checkProgram, 'node');
      const checkExit = await new Promise<number | null>((resolve) => {
        spawn(process.execPath, checkArgs, { env: { PORT: String(port) }, stdio: 'ignore' }).once('exit', resolve);
      });
      t.is(checkExit, 0, 'HEALTHCHECK command succeeds against the running service');
    } finally {
      child.kill('SIGTERM');
    }
    t.is(await exited, 0, `clean exit on SIGTERM; stderr: ${stderr}`);
  });
}

test('the HEALTHCHECK command fails when nothing answers', async (t) => {
  const [, ...checkArgs] = healthcheckOf('origin');
  const exit = await new Promise<number | null>((resolve) => {
    spawn(process.execPath, checkArgs, { env: { PORT: '9' }, stdio: 'ignore' }).once('exit', resolve);
  });
  t.is(exit, 1);
});

test('grafana target: the Docker stack\'s Grafana tag with the dashboards where the AWS provider looks', (t) => {
  const stage = STAGES.get('grafana');
  t.truthy(stage);
  t.is(stage!.base, '${GRAFANA_IMAGE}');
  const arg = DockerfileParser.parse(DOCKERFILE)
    .getInitialARGs()
    .find((a) => a.getProperty()?.getName() === 'GRAFANA_IMAGE');
  t.is(arg?.getProperty()?.getValue(), OBSERVABILITY_IMAGES.grafana);
  t.deepEqual(ofKind(stage!.instructions, 'COPY').map(raw), [`grafana/dashboards ${IMAGE_DASHBOARDS_DIR}`]);
});
