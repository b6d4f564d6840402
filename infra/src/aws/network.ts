// A VPC over two availability zones: two public subnets (the ALB needs two zones), an internet
// gateway and one route table. Tasks get public IPs to pull images and are reachable only as their
// security groups allow; private subnets would add a NAT gateway (~$33/month) for no lab benefit.
import * as pulumi from '@pulumi/pulumi';
import * as aws from '@pulumi/aws';
import { subnetCidr } from './addressing.ts';

export interface LabVpcArgs {
  cidr: string;
  tags: Record<string, string>;
}

export class LabVpc extends pulumi.ComponentResource {
  readonly vpc: aws.ec2.Vpc;
  readonly subnets: aws.ec2.Subnet[];
  readonly subnetIds: pulumi.Output<string>[];

  constructor(name: string, args: LabVpcArgs, opts?: pulumi.ComponentResourceOptions) {
    super('cdn-lab:aws:LabVpc', name, {}, opts);
    const child = { parent: this };
    const tags = (suffix: string) => ({ ...args.tags, Name: `${name}-${suffix}` });
    this.vpc = new aws.ec2.Vpc(`${name}-vpc`, { cidrBlock: args.cidr, enableDnsHostnames: true, enableDnsSupport: true, tags: tags('vpc') }, child);
    const gateway = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: this.vpc.id, tags: tags('igw') }, child);
    const routes = new aws.ec2.RouteTable(
      `${name}-public`,
      { vpcId: this.vpc.id, routes: [{ cidrBlock: '0.0.0.0/0', gatewayId: gateway.id }], tags: tags('public') },
      child,
    );
    const zones = aws.getAvailabilityZonesOutput({ state: 'available' }, child);
    this.subnets = [0, 1].map((index) => {
      const subnet = new aws.ec2.Subnet(
        `${name}-public-${index}`,
        {
          vpcId: this.vpc.id,
          cidrBlock: subnetCidr(args.cidr, index, 4),
          availabilityZone: zones.names.apply((names) => {
            if (names.length < 2) throw new Error(`the region has ${names.length} availability zone(s); the ALB needs two`);
            return names[index]!;
          }),
          mapPublicIpOnLaunch: false,
          tags: tags(`public-${index}`),
        },
        child,
      );
      new aws.ec2.RouteTableAssociation(`${name}-public-${index}`, { subnetId: subnet.id, routeTableId: routes.id }, child);
      return subnet;
    });
    this.subnetIds = this.subnets.map((s) => s.id);
    this.registerOutputs({ vpcId: this.vpc.id, subnetIds: this.subnetIds });
  }
}
