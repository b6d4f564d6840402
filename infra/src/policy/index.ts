// The lab's policy pack: `pulumi preview --policy-pack infra/src/policy`. Constructing the pack
// starts the policy gRPC server, so nothing else imports this file (rules are in rules.ts).
import { PolicyPack } from '@pulumi/policy';
import { LAB_POLICIES, LAB_STACK_POLICIES } from './rules.ts';

new PolicyPack('cdn-lab', { policies: [...LAB_POLICIES, ...LAB_STACK_POLICIES] });
