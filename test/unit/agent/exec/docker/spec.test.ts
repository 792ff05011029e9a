// The container a task gets (agent/exec/docker/spec.ts): name, labels, limits, ports,
// health check, network and DNS.
import test from 'ava';
import { PublishMode } from '../../../../../proto/gen/shoal.js';
import { LABEL } from '../../../../../proto/naming.js';
import { containerConfig } from '../../../../../agent/exec/docker/spec.js';
import { makeTask, NODE_ID } from '../../../../helpers/agent-support.js';

test('container config: name, labels, command, env, limits, host ports, no engine restarts', (t) => {
  const task = makeTask('task1', {
    slot: 3,
    image: 'reg:5000/app:2',
    spec: {
      command: ['httpd', '-f', '-p', '8080'],
      env: ['A=1'],
      labels: { team: 'x', [LABEL.taskId]: 'spoofed' },
      stopGracePeriodMs: 2_500,
      limits: { nanoCpus: 500_000_000, memoryBytes: 64 * 2 ** 20 },
      ports: [
        { protocol: 'tcp', targetPort: 8080, publishedPort: 18080, publishMode: PublishMode.HOST },
        { protocol: 'udp', targetPort: 53, publishedPort: 0, publishMode: PublishMode.HOST },
        { protocol: 'tcp', targetPort: 9000, publishedPort: 9000, publishMode: PublishMode.INGRESS },
      ],
    },
  });
  const c = containerConfig(task);
  t.is(c.name, 'web.3.task1');
  t.is(c.Image, 'reg:5000/app:2');
  t.deepEqual(c.Cmd, ['httpd', '-f', '-p', '8080']);
  t.deepEqual(c.Env, ['A=1']);
  t.deepEqual(c.Labels, {
    team: 'x',
    [LABEL.taskId]: 'task1',
    [LABEL.serviceId]: 'svc1',
    [LABEL.serviceName]: 'web',
    [LABEL.slot]: '3',
    [LABEL.nodeId]: NODE_ID,
  });
  t.deepEqual(c.ExposedPorts, { '8080/tcp': {}, '53/udp': {} });
  t.is(c.StopTimeout, 3, 'whole seconds, rounded up');
  t.deepEqual(c.HostConfig, {
    RestartPolicy: { Name: 'no' },
    NanoCpus: 500_000_000,
    Memory: 64 * 2 ** 20,
    PortBindings: { '8080/tcp': [{ HostPort: '18080' }], '53/udp': [{ HostPort: '' }] },
  });
  t.is(c.Healthcheck, undefined);
});

test('container config: empty command keeps the image CMD; health check in ns; global tasks', (t) => {
  const task = makeTask('task2', {
    slot: 0,
    spec: {
      health: { test: ['CMD-SHELL', 'true'], intervalMs: 500, timeoutMs: 200, retries: 2, startPeriodMs: 1_000 },
    },
  });
  const c = containerConfig(task);
  t.is(c.Cmd, undefined);
  t.is(c.StopTimeout, 10, "docker's default when the spec has none");
  t.is(c.name, `web.${NODE_ID.slice(0, 12)}.task2`);
  t.deepEqual(c.Healthcheck, {
    Test: ['CMD-SHELL', 'true'],
    Interval: 500e6,
    Timeout: 200e6,
    Retries: 2,
    StartPeriod: 1e9,
  });
  t.deepEqual(c.HostConfig, { RestartPolicy: { Name: 'no' } });
  t.deepEqual(
    containerConfig(
      makeTask('t', {
        spec: { health: { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 } },
      }),
    ).Healthcheck?.Test,
    ['NONE'],
  );
});

test('container config: Dns is the agent DNS server on the first network gateway, when given', (t) => {
  t.deepEqual(containerConfig(makeTask('t'), 'shoal-a', ['10.42.1.1']).HostConfig?.Dns, ['10.42.1.1']);
  t.is(containerConfig(makeTask('t'), 'shoal-a').HostConfig?.Dns, undefined);
  t.is(containerConfig(makeTask('t'), undefined, []).HostConfig?.Dns, undefined);
});

test('container config: created on its first network', (t) => {
  t.is(containerConfig(makeTask('t'), 'shoal-a').HostConfig?.NetworkMode, 'shoal-a');
  t.is(containerConfig(makeTask('t')).HostConfig?.NetworkMode, undefined);
});

test('secrets and configs: read-only bind mounts from the agent, never in the environment', (t) => {
  const mounts = [{ Type: 'bind' as const, Source: '/state/files/t1/secrets', Target: '/run/secrets', ReadOnly: true }];
  const task = makeTask('t1', {
    spec: { env: ['A=1'], secrets: [{ secretId: 's1', secretName: 'pw', target: undefined }] },
  });
  const config = containerConfig(task, undefined, undefined, mounts);
  t.deepEqual(config.HostConfig?.Mounts, mounts);
  t.deepEqual(config.Env, ['A=1']);
  t.is(containerConfig(makeTask('t2')).HostConfig?.Mounts, undefined);
});
