// The cdn-lab Pulumi program (Pulumi.yaml: main infra/). One program, two stacks: `cdn-lab:backend`
// picks Docker or AWS; both render `cdn-lab:topology` through the same plan as the local lab.
import * as pulumi from '@pulumi/pulumi';
import { ConfigError } from '@cdn-lab/service-kit';
import { CONFIG_NAMESPACE, parseStackConfig, type StackSettings } from './src/components/stack-config.ts';
import { dockerStack, type StackOutputs } from './src/docker/stack.ts';
import { awsStack } from './src/aws/stack.ts';

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
    return settings.backend === 'docker'
      ? dockerStack({ stack, topology: settings.topology, docker: settings.docker, grafanaAdminPassword })
      : awsStack({ project: pulumi.getProject(), stack, topology: settings.topology, aws: settings.aws, grafanaAdminPassword });
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
