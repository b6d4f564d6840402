import type * as pulumi from '@pulumi/pulumi';
import type { Topology } from '../topology.ts';
import type { AwsSettings } from '../components/stack-config.ts';
import type { StackOutputs } from '../docker/stack.ts';

export interface AwsStackInput {
  project: string;
  stack: string;
  topology: Topology;
  aws: AwsSettings;
  grafanaAdminPassword: pulumi.Input<string>;
}

export function awsStack(_input: AwsStackInput): StackOutputs {
  throw new Error('not yet');
}
