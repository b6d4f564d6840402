// The cdn-lab Pulumi program (Pulumi.yaml: main infra/). One program, two stacks: `cdn-lab:backend`
// picks Docker or AWS; both render `cdn-lab:topology` through the same plan as the local lab.
import * as pulumi from '@pulumi/pulumi';
import { ConfigError } from '@cdn-lab/service-kit';
import { CONFIG_NAMESPACE, checkServiceSecret, parseStackConfig, type StackSettings } from './src/components/stack-config.ts';
import type { Topology } from './src/topology.ts';
import { dockerStack, type StackOutputs } from './src/docker/stack.ts';
import { awsStack } from './src/aws/stack.ts';

/** The services' optional secrets (`pulumi config set --secret cdn-lab:adminToken ...`), checked as the services check them. */
function serviceSecrets(config: pulumi.Config, topology: Topology) {
  const secrets: { adminToken?: pulumi.Output<string>; fleetSecret?: pulumi.Output<string> } = {};
  for (const name of ['adminToken', 'fleetSecret'] as const) {
    const value = config.getSecret(name);
    if (value !== undefined) secrets[name] = value.apply((text) => checkServiceSecret(name, text));
  }
  if (!secrets.fleetSecret && topology.edges.tiering === 'sharded') {
    pulumi.log.warn('no cdn-lab:fleetSecret: the sharded edges trust no hop header, so each forwarded request is handled like a client\'s; set one with `pulumi config set --secret cdn-lab:fleetSecret <16+ characters>`');
  }
  return secrets;
}

function build(): StackOutputs {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const stack = pulumi.getStack();
  let settings: StackSettings;
  try {
    settings = parseStackConfig({
      backend: config.get('backend'),
      topology: config.getObject('topology'),
      docker: config.getObject('docker'),
      aws: config.getObject('aws'),
    });
    const grafanaAdminPassword = config.requireSecret('grafanaAdminPassword');
    const secrets = serviceSecrets(config, settings.topology);
    return settings.backend === 'docker'
      ? dockerStack({ stack, topology: settings.topology, docker: settings.docker, grafanaAdminPassword, secrets })
      : awsStack({ project: pulumi.getProject(), stack, topology: settings.topology, aws: settings.aws, grafanaAdminPassword, secrets });
  } catch (error) {
    // A RunError prints its message alone (no stack trace): the message names the key at fault.
    if (error instanceof ConfigError) throw new pulumi.RunError(error.message);
    throw error;
  }
}

const outputs = build();
export const cdnUrl = outputs.cdnUrl;
export const grafanaUrl = outputs.grafanaUrl;
export const prometheusUrl = outputs.prometheusUrl;
