// Creates on a real Docker engine exactly the resources the Pulumi program declared (recorded under
// Pulumi's mocks by record-program.ts): images built from their Dockerfile targets, networks,
// volumes and containers with their env, aliases, ports, mounts, uploads, health checks and
// commands, in dependency order. It stands in for `pulumi up` with the docker providers, which
// cannot be installed here. A resource type or input it does not know is an error, so a change to
// the program that this does not carry out fails the test instead of being dropped.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import tar from 'tar-stream';
import { computedState, type RecordedResource } from '../pulumi/harness.ts';

const run = promisify(execFile);

export interface RecordedProgram {
  resources: RecordedResource[];
  outputs: Record<string, unknown>;
}

export interface ApplyOptions {
  engine: Docker;
  /** A docker CLI that builds with BuildKit (images only; everything else goes through the API). */
  cli: string;
  /** Containers left out on purpose, by container name, with the reason (e.g. no image here). */
  leaveOut: Record<string, string>;
  /** Build with the host's network (an engine without iptables gives the default bridge no way out). */
  buildNetwork?: 'host';
  log?: (line: string) => void;
}

export interface AppliedStack {
  /** Container name → id, for those created. */
  containers: Map<string, string>;
  /** Image tag → build time in ms and size in bytes. */
  images: Map<string, { buildMs: number; sizeBytes: number }>;
  /** ms from the first container's create to the last one's healthy. */
  createToHealthyMs: number;
  /** Removes every container, network, volume and image tag this created. */
  teardown(options?: { keepImages?: boolean }): Promise<void>;
}

const COMPONENT = /^cdn-lab:/;
const CONTAINER_INPUTS = new Set(['name', 'image', 'envs', 'command', 'networksAdvanced', 'ports', 'labels', 'healthcheck', 'wait', 'waitTimeout', 'restart', 'uploads', 'volumes', 'stopTimeout']);

/** Docker's duration strings as the provider takes them ("10s", "3s", "1m30s") in nanoseconds. */
export function durationNs(text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const unit = { ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 } as const;
  return parts.reduce((sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit], 0);
}

/** The Engine API body for one recorded docker:Container. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function containerSpec(inputs: Record<string, any>): Docker.ContainerCreateOptions {
  const unknown = Object.keys(inputs).filter((key) => !CONTAINER_INPUTS.has(key));
  if (unknown.length > 0) throw new Error(`container ${inputs.name}: inputs the applier does not carry out: ${unknown.join(', ')}`);
  const networks = (inputs.networksAdvanced ?? []) as { name: string; aliases?: string[] }[];
  if (networks.length > 1) throw new Error(`container ${inputs.name}: more than one network`);
  const ports = (inputs.ports ?? []) as { internal: number; external?: number; ip?: string; protocol?: string }[];
  const key = (p: (typeof ports)[number]) => `${p.internal}/${p.protocol ?? 'tcp'}`;
  const mounts = (inputs.volumes ?? []) as { hostPath?: string; volumeName?: string; containerPath: string; readOnly?: boolean }[];
  const health = inputs.healthcheck as { tests: string[]; interval?: string; timeout?: string; startPeriod?: string; retries?: number } | undefined;
  return {
    name: inputs.name,
    Image: inputs.image,
    Env: inputs.envs ?? [],
    ...(inputs.command ? { Cmd: inputs.command } : {}),
    Labels: Object.fromEntries(((inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value])),
    ExposedPorts: Object.fromEntries(ports.map((p) => [key(p), {}])),
    ...(inputs.stopTimeout !== undefined ? { StopTimeout: inputs.stopTimeout } : {}),
    ...(health
      ? {
          Healthcheck: {
            Test: health.tests,
            ...(health.interval ? { Interval: durationNs(health.interval) } : {}),
            ...(health.timeout ? { Timeout: durationNs(health.timeout) } : {}),
            ...(health.startPeriod ? { StartPeriod: durationNs(health.startPeriod) } : {}),
            ...(health.retries ? { Retries: health.retries } : {}),
          },
        }
      : {}),
    HostConfig: {
      ...(networks[0] ? { NetworkMode: networks[0].name } : {}),
      PortBindings: Object.fromEntries(ports.map((p) => [key(p), [{ HostIp: p.ip ?? '', HostPort: String(p.external ?? '') }]])),
      Binds: mounts.map((m) => {
        const source = m.hostPath ?? m.volumeName;
        if (!source) throw new Error(`container ${inputs.name}: a mount with neither hostPath nor volumeName`);
        return `${source}:${m.containerPath}${m.readOnly ? ':ro' : ''}`;
      }),
      ...(inputs.restart ? { RestartPolicy: { Name: inputs.restart } } : {}),
    },
    ...(networks[0] ? { NetworkingConfig: { EndpointsConfig: { [networks[0].name]: { Aliases: networks[0].aliases ?? [] } } } } : {}),
  };
}

/** A tar of the container's uploads, as the provider puts them in before the container starts. */
async function uploadsTar(uploads: { file: string; content: string }[]): Promise<Buffer> {
  const pack = tar.pack();
  for (const upload of uploads) pack.entry({ name: upload.file.replace(/^\//, ''), mode: 0o644 }, upload.content);
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of pack) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Replaces every string equal to a key of `values` (e.g. a mocked digest) by its value, deeply. */
function substitute<T>(value: T, values: Map<string, string>): T {
  if (typeof value === 'string') return (values.get(value) ?? value) as T;
  if (Array.isArray(value)) return value.map((v) => substitute(v, values)) as T;
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, values)])) as T;
  return value;
}

async function waitHealthy(engine: Docker, id: string, name: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = (await engine.getContainer(id).inspect()).State;
    if (!state.Running) {
      const logs = await engine.getContainer(id).logs({ stdout: true, stderr: true, tail: 20 });
      throw new Error(`container ${name} exited (code ${state.ExitCode}) before it was healthy; its last lines:\n${logs.toString('utf8')}`);
    }
    const health = state.Health?.Status;
    if (health === undefined || health === 'healthy') return;
    if (health === 'unhealthy') throw new Error(`container ${name} is unhealthy: ${JSON.stringify(state.Health?.Log?.at(-1))}`);
    if (Date.now() > deadline) throw new Error(`container ${name} not healthy after ${timeoutMs} ms (status ${health})`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** Every resource of the program on the engine; on any failure what was made is removed again. */
export async function applyStack(program: RecordedProgram, options: ApplyOptions): Promise<AppliedStack> {
  const { engine } = options;
  const log = options.log ?? (() => {});
  const made = { containers: new Map<string, string>(), networks: [] as string[], volumes: [] as string[], images: new Map<string, { buildMs: number; sizeBytes: number }>() };
  const teardown = async ({ keepImages = false } = {}) => {
    for (const id of made.containers.values()) await engine.getContainer(id).remove({ force: true, v: true }).catch(() => {});
    for (const name of made.networks) await engine.getNetwork(name).remove().catch(() => {});
    for (const name of made.volumes) await engine.getVolume(name).remove().catch(() => {});
    if (!keepImages) for (const tag of made.images.keys()) await engine.getImage(tag).remove().catch(() => {});
  };

  const known = program.resources.filter((r) => !COMPONENT.test(r.type) && !r.type.startsWith('pulumi:providers:'));
  const handled = new Set(['docker-build:index:Image', 'docker:index/network:Network', 'docker:index/volume:Volume', 'docker:index/container:Container']);
  const strange = known.filter((r) => !handled.has(r.type));
  if (strange.length > 0) throw new Error(`resource types the applier does not carry out: ${[...new Set(strange.map((r) => r.type))].join(', ')}`);

  try {
    // Images: what the mocks called their digest becomes the built image's id wherever it was used.
    const digests = new Map<string, string>();
    for (const image of known.filter((r) => r.type === 'docker-build:index:Image')) {
      const { inputs } = image;
      if (inputs.push || inputs.platforms || inputs.registries) throw new Error(`image ${image.name}: push/platforms/registries are not carried out locally`);
      const tag = (inputs.tags as string[])[0]!;
      const args = ['build', '--quiet', ...(options.buildNetwork ? ['--network', options.buildNetwork] : []), '--target', inputs.target, '-f', inputs.dockerfile.location, '-t', tag, inputs.context.location];
      log(`building ${tag} (target ${inputs.target})`);
      const started = performance.now();
      await run(options.cli, args, { env: { ...process.env, DOCKER_BUILDKIT: '1' }, maxBuffer: 64 << 20 }).catch((error: { stderr?: string; message: string }) => {
        throw new Error(`docker build of ${tag} failed: ${(error.stderr ?? error.message).slice(-4000)}`);
      });
      const info = await engine.getImage(tag).inspect();
      made.images.set(tag, { buildMs: performance.now() - started, sizeBytes: info.Size });
      digests.set(computedState(image.type, image.name, inputs).digest as string, info.Id);
    }
    for (const network of known.filter((r) => r.type === 'docker:index/network:Network')) {
      const labels = Object.fromEntries(((network.inputs.labels ?? []) as { label: string; value: string }[]).map((l) => [l.label, l.value]));
      await engine.createNetwork({ Name: network.inputs.name, Driver: network.inputs.driver ?? 'bridge', Labels: labels });
      made.networks.push(network.inputs.name);
    }
    for (const volume of known.filter((r) => r.type === 'docker:index/volume:Volume')) {
      await engine.createVolume({ Name: volume.inputs.name });
      made.volumes.push(volume.inputs.name);
    }

    // Containers in waves: each starts once every container it depends on is up (and healthy where
    // the program waits for health), as the provider would order them.
    const containers = known.filter((r) => r.type === 'docker:index/container:Container');
    const byName = new Map(containers.map((c) => [c.name, c]));
    const left = containers.filter((c) => {
      const reason = options.leaveOut[c.inputs.name];
      if (reason) log(`leaving out ${c.inputs.name}: ${reason}`);
      return !reason;
    });
    const leftOutNames = new Set(containers.filter((c) => options.leaveOut[c.inputs.name]).map((c) => c.name));
    const done = new Set<string>();
    const firstCreate = performance.now();
    let pending = left;
    while (pending.length > 0) {
      const ready = pending.filter((c) => (c.dependencies ?? []).every((d) => !byName.has(d) || done.has(d) || leftOutNames.has(d)));
      if (ready.length === 0) throw new Error(`containers wait on each other: ${pending.map((c) => c.name).join(', ')}`);
      await Promise.all(
        ready.map(async (resource) => {
          const inputs = substitute(resource.inputs, digests);
          const container = await engine.createContainer(containerSpec(inputs));
          made.containers.set(inputs.name, container.id);
          if (inputs.uploads?.length) await container.putArchive(await uploadsTar(inputs.uploads), { path: '/' });
          await container.start();
          await waitHealthy(engine, container.id, inputs.name, (inputs.waitTimeout ?? 60) * 1000);
          log(`${inputs.name} is up`);
          done.add(resource.name);
        }),
      );
      pending = pending.filter((c) => !done.has(c.name));
    }
    return { containers: made.containers, images: made.images, createToHealthyMs: performance.now() - firstCreate, teardown };
  } catch (error) {
    await teardown();
    throw error;
  }
}

/** Removes what an earlier, interrupted run left: containers, networks and volumes of the stack. */
export async function removeLeftovers(engine: Docker, stack: string, prefix: string): Promise<void> {
  for (const info of await engine.listContainers({ all: true, filters: { label: [`cdn-lab.stack=${stack}`] } })) {
    await engine.getContainer(info.Id).remove({ force: true, v: true });
  }
  for (const network of await engine.listNetworks({ filters: { name: [`${prefix}-`] } })) await engine.getNetwork(network.Id).remove();
  const { Volumes } = await engine.listVolumes({ filters: { name: [`${prefix}-`] } });
  for (const volume of Volumes ?? []) await engine.getVolume(volume.Name).remove();
}
