// The lab's three service images, built with BuildKit (@pulumi/docker-build) from the root
// Dockerfile, one target per program. Docker loads them into the local engine; AWS pushes them to
// ECR. Both stacks use this component, so the images are the same everywhere.
import path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import * as dockerBuild from '@pulumi/docker-build';
import { SERVICE_PROGRAMS, type ServiceKind } from '../plan.ts';
import { REPO_ROOT } from '../repo-root.ts';
export const SERVICE_KINDS = Object.keys(SERVICE_PROGRAMS) as ServiceKind[];

export interface RegistryAuth {
  address: pulumi.Input<string>;
  username: pulumi.Input<string>;
  password: pulumi.Input<string>;
}

export interface ServiceImagesArgs {
  /** Image name (without tag) per kind, e.g. `cdn-lab/edge-node` or an ECR repository URL. */
  repositories: Record<ServiceKind, pulumi.Input<string>>;
  /** Which programs to build (default all; the AWS stack has no use for the lab's balancer). */
  kinds?: ServiceKind[];
  tag: string;
  /** Push to a registry (AWS) or load into the local Docker engine (Docker). */
  push: boolean;
  /** Credentials when pushing. */
  registry?: RegistryAuth;
  /** Build context; the repository root by default. */
  context?: string;
  /** CPU architecture of the hosts that run the images; default: the build host's own. */
  platform?: 'linux/amd64' | 'linux/arm64';
}

export interface ServiceImage {
  /** What a container or task definition names: `repo:tag` locally, `repo:tag@sha256:...` when pushed. */
  ref: pulumi.Output<string>;
  /** Changes whenever the image content changes (drives container replacement). */
  digest: pulumi.Output<string>;
}

export class ServiceImages extends pulumi.ComponentResource {
  /** Built images by kind (only the kinds asked for). */
  readonly images: Record<ServiceKind, ServiceImage>;

  constructor(name: string, args: ServiceImagesArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:images:ServiceImages', name, {}, opts);
    const context = args.context ?? REPO_ROOT;
    const entries = (args.kinds ?? SERVICE_KINDS).map((kind) => {
      const { workspace } = SERVICE_PROGRAMS[kind];
      const tagged = pulumi.interpolate`${args.repositories[kind]}:${args.tag}`;
      const image = new dockerBuild.Image(
        `${name}-${workspace}`,
        {
          context: { location: context },
          dockerfile: { location: path.join(context, 'Dockerfile') },
          target: workspace,
          tags: [tagged],
          ...(args.platform ? { platforms: [args.platform] } : {}),
          push: args.push,
          // Locally: load into the engine the containers run on (no registry involved).
          ...(args.push ? {} : { exports: [{ docker: {} }] }),
          ...(args.registry ? { registries: [args.registry] } : {}),
        },
        { parent: this },
      );
      const ref = args.push ? image.ref : tagged;
      return [kind, { ref, digest: image.digest }] as const;
    });
    this.images = Object.fromEntries(entries) as Record<ServiceKind, ServiceImage>;
    this.registerOutputs({ images: this.images });
  }
}
