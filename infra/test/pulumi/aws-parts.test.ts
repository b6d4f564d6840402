// Pure pieces of the AWS stack: subnet math, the ALB algorithm mapping, the security rule table
// and the config-writing entry point (run here with /bin/sh, as the Prometheus and Grafana images would).
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { BALANCER_ALGORITHMS } from '../../src/topology.ts';
import { ALB_ALGORITHMS, albAlgorithm, subnetCidr } from '../../src/aws/addressing.ts';
import { writeFilesThenExec } from '../../src/aws/containers.ts';
import { securityRules } from '../../src/aws/security-groups.ts';

test('subnetCidr splits a VPC range', (t) => {
  t.is(subnetCidr('10.42.0.0/16', 0, 4), '10.42.0.0/20');
  t.is(subnetCidr('10.42.0.0/16', 1, 4), '10.42.16.0/20');
  t.is(subnetCidr('10.42.0.0/16', 15, 4), '10.42.240.0/20');
  t.is(subnetCidr('172.16.5.7/24', 3, 2), '172.16.5.192/26');
  t.throws(() => subnetCidr('10.0.0.0/26', 0, 4), { message: /AWS subnets are \/16 to \/28/ });
  t.throws(() => subnetCidr('10.0.0.0/16', 16, 4), { message: /out of range/ });
  t.throws(() => subnetCidr('10.0.0/16', 0, 4), { message: /not an IPv4 CIDR/ });
});

test('ALB algorithms: round robin and least outstanding requests; the rest fail naming the key', (t) => {
  t.is(albAlgorithm('round-robin'), 'round_robin');
  t.is(albAlgorithm('least-connections'), 'least_outstanding_requests');
  for (const algorithm of BALANCER_ALGORITHMS.filter((a) => !(a in ALB_ALGORITHMS))) {
    t.throws(() => albAlgorithm(algorithm), { message: new RegExp(`cdn-lab:topology\\.balancer\\.algorithm: .*"${algorithm}"`) });
  }
});

test('security rules: every ingress from a group has the matching egress', (t) => {
  const rules = securityRules({ listenerPort: 80, operatorCidr: '198.51.100.0/24' });
  for (const rule of rules.filter((r) => r.direction === 'ingress' && 'group' in r.peer)) {
    const source = (rule.peer as { group: string }).group;
    t.true(
      rules.some((e) => e.direction === 'egress' && e.group === source && e.port === rule.port && 'group' in e.peer && e.peer.group === rule.group),
      `${source} -> ${rule.group}:${rule.port}`,
    );
  }
  t.deepEqual(
    rules.filter((r) => 'cidr' in r.peer && r.direction === 'ingress').map((r) => `${(r.peer as { cidr: string }).cidr}:${r.port}`),
    ['0.0.0.0/0:80', '198.51.100.0/24:3000', '198.51.100.0/24:9090'],
  );
});

test('writeFilesThenExec writes each file (quotes and newlines intact) and execs the program', (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'files-exec-'));
  try {
    const content = "a: 'quoted' \"double\" $HOME `tick`\nb: 2\n";
    const target = path.join(dir, 'nested', 'config.yml');
    const start = writeFilesThenExec({ [target]: content }, ['/bin/echo', "it's started"]);
    t.deepEqual(start.entryPoint, ['/bin/sh', '-c']);
    const output = execFileSync(start.entryPoint[0]!, [start.entryPoint[1]!, ...start.command], {
      env: { PATH: process.env.PATH ?? '/bin:/usr/bin', ...start.env },
      encoding: 'utf8',
    });
    t.is(output, "it's started\n");
    t.is(readFileSync(target, 'utf8'), content);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
