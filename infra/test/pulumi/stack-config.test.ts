import test from 'ava';
import { parseStackConfig } from '../../src/components/stack-config.ts';

const message = (raw: Parameters<typeof parseStackConfig>[0]) => {
  try {
    parseStackConfig(raw);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
};

test('defaults fill a docker stack from the backend alone', (t) => {
  const settings = parseStackConfig({ backend: 'docker' });
  t.is(settings.backend, 'docker');
  if (settings.backend !== 'docker') return;
  t.is(settings.docker.balancer, 'lab');
  t.is(settings.docker.bindAddress, '127.0.0.1');
  t.deepEqual(settings.docker.ports, { cdn: 8080, grafana: 3000, prometheus: 9090 });
  t.is(settings.topology.edges.count, 2);
});

test('errors name the config key and field', (t) => {
  t.regex(message({}), /cdn-lab:backend: expected one of docker, aws/);
  t.regex(message({ backend: 'docker', topology: { edges: { count: 0 } } }), /cdn-lab:topology\.edges\.count: /);
  t.regex(message({ backend: 'docker', topology: { edges: { policy: 'mru' } } }), /cdn-lab:topology\.edges\.policy: unknown cache policy "mru"/);
  t.regex(message({ backend: 'docker', docker: { ports: { cdn: 70000 } } }), /cdn-lab:docker\.ports\.cdn: /);
  t.regex(message({ backend: 'docker', docker: { balancer: 'haproxy' } }), /cdn-lab:docker\.balancer: /);
  t.regex(message({ backend: 'docker', docker: { bindAddres: '0.0.0.0' } }), /cdn-lab:docker: .*bindAddres/);
});

test('aws requires a Grafana CIDR and refuses the whole internet', (t) => {
  t.regex(message({ backend: 'aws' }), /cdn-lab:aws\.grafanaCidr: /);
  t.regex(message({ backend: 'aws', aws: { grafanaCidr: '0.0.0.0/0' } }), /cdn-lab:aws\.grafanaCidr: must not be open to the whole internet/);
  t.regex(message({ backend: 'aws', aws: { grafanaCidr: '300.1.1.1/32' } }), /cdn-lab:aws\.grafanaCidr: octets/);
  const settings = parseStackConfig({ backend: 'aws', aws: { grafanaCidr: '203.0.113.7/32' } });
  t.is(settings.backend === 'aws' && settings.aws.listenerPort, 80);
});

test('aws task sizes must be valid Fargate combinations', (t) => {
  t.regex(message({ backend: 'aws', aws: { grafanaCidr: '203.0.113.7/32', edge: { cpu: 256, memory: 4096 } } }), /cdn-lab:aws\.edge\.memory: with cpu 256, memory must be one of 512, 1024, 2048/);
  t.regex(message({ backend: 'aws', aws: { grafanaCidr: '203.0.113.7/32', origin: { cpu: 300 } } }), /cdn-lab:aws\.origin\.cpu: /);
});
