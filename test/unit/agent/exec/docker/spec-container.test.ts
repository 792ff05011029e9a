// The container options of a spec as the engine is told them (spec.ts, mounts.ts): mounts
// with their options, user, workdir, entrypoint, hostname, labels, stop signal, read-only
// root, init, capabilities, ulimits, DNS (the agent's resolver kept first), limits.
import test from 'ava';
import { type Mount, MountType } from '../../../../../proto/gen/shoal.js';
import { LABEL } from '../../../../../proto/naming.js';
import { containerConfig } from '../../../../../agent/exec/docker/spec.js';
import { makeTask } from '../../../../helpers/agent-support.js';

const mount = (m: Partial<Mount>): Mount => ({
  type: MountType.VOLUME,
  source: '',
  target: '',
  readOnly: false,
  volumeNocopy: false,
  volumeLabels: {},
  tmpfsSizeBytes: 0,
  tmpfsMode: 0,
  bindPropagation: '',
  ...m,
});

test('mounts: named and anonymous volumes, bind, tmpfs, with their options', (t) => {
  const task = makeTask('t1', {
    spec: {
      mounts: [
        mount({ source: 'data', target: '/data', volumeNocopy: true, volumeLabels: { app: 'db' } }),
        mount({ target: '/anon', readOnly: true }),
        mount({ type: MountType.BIND, source: '/var/log', target: '/logs', readOnly: true, bindPropagation: 'rslave' }),
        mount({ type: MountType.BIND, source: '/srv', target: '/srv' }),
        mount({ type: MountType.TMPFS, target: '/scratch', tmpfsSizeBytes: 1 << 20, tmpfsMode: 0o1770 }),
      ],
    },
  });
  t.deepEqual(containerConfig(task).HostConfig?.Mounts, [
    {
      Type: 'volume',
      Source: 'data',
      Target: '/data',
      ReadOnly: false,
      VolumeOptions: { NoCopy: true, Labels: { app: 'db' }, DriverConfig: { Name: 'local', Options: {} } },
    },
    {
      Type: 'volume',
      Source: '',
      Target: '/anon',
      ReadOnly: true,
      VolumeOptions: { NoCopy: false, Labels: {}, DriverConfig: { Name: 'local', Options: {} } },
    },
    { Type: 'bind', Source: '/var/log', Target: '/logs', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
    { Type: 'bind', Source: '/srv', Target: '/srv', ReadOnly: false },
    {
      Type: 'tmpfs',
      Source: '',
      Target: '/scratch',
      ReadOnly: false,
      TmpfsOptions: { SizeBytes: 1 << 20, Mode: 0o1770 },
    },
  ]);
});

test('mounts: secrets and configs files stay, after the spec mounts; a clash on a target keeps the file', (t) => {
  const task = makeTask('t1', {
    spec: { mounts: [mount({ source: 'v', target: '/etc/app.conf' }), mount({ source: 'w', target: '/w' })] },
  });
  const file = { Type: 'bind' as const, Source: '/run/shoal/files/t1/c1', Target: '/etc/app.conf', ReadOnly: true };
  const mounts = containerConfig(task, undefined, undefined, [file]).HostConfig?.Mounts ?? [];
  t.deepEqual(
    mounts.map((m) => [m.Type, m.Target]),
    [
      ['volume', '/w'],
      ['bind', '/etc/app.conf'],
    ],
  );
});

test('process options: user, workdir, entrypoint, hostname, stop signal, labels on containers', (t) => {
  const task = makeTask('t1', {
    spec: {
      user: '1000:1000',
      workdir: '/srv',
      entrypoint: ['/bin/sh', '-c'],
      command: ['echo hi'],
      hostname: 'db1',
      stopSignal: 'SIGINT',
      labels: { team: 'x' },
      containerLabels: { tier: 'back', [LABEL.taskId]: 'spoofed' },
    },
  });
  const c = containerConfig(task);
  t.is(c.User, '1000:1000');
  t.is(c.WorkingDir, '/srv');
  t.deepEqual(c.Entrypoint, ['/bin/sh', '-c']);
  t.deepEqual(c.Cmd, ['echo hi']);
  t.is(c.Hostname, 'db1');
  t.is(c.StopSignal, 'SIGINT');
  t.is(c.Labels?.tier, 'back');
  t.is(c.Labels?.team, 'x');
  t.is(c.Labels?.[LABEL.taskId], 't1', "shoal's labels win");
});

test('unset options are not sent: the image and the engine decide', (t) => {
  const c = containerConfig(makeTask('t1'));
  for (const k of ['User', 'WorkingDir', 'Entrypoint', 'Hostname', 'StopSignal'] as const) t.is(c[k], undefined, k);
  t.deepEqual(c.HostConfig, { RestartPolicy: { Name: 'no' } });
});

test('host options: read-only root, init, capabilities, ulimits, limits', (t) => {
  const task = makeTask('t1', {
    spec: {
      readOnly: true,
      init: false,
      capAdd: ['CAP_NET_ADMIN'],
      capDrop: ['ALL'],
      ulimits: [{ name: 'nofile', soft: 1024, hard: 2048 }],
      limits: { nanoCpus: 250_000_000, memoryBytes: 32 * 2 ** 20 },
    },
  });
  const h = containerConfig(task).HostConfig!;
  t.true(h.ReadonlyRootfs);
  t.false(h.Init);
  t.deepEqual(h.CapAdd, ['CAP_NET_ADMIN']);
  t.deepEqual(h.CapDrop, ['ALL']);
  t.deepEqual(h.Ulimits, [{ Name: 'nofile', Soft: 1024, Hard: 2048 }]);
  t.is(h.NanoCpus, 250_000_000);
  t.is(h.Memory, 32 * 2 ** 20);
});

test('dns: the agent resolver stays first, the service nameservers follow; search and options', (t) => {
  const dns = { nameservers: ['10.0.0.53', '10.10.0.1'], search: ['example.com'], options: ['ndots:2'] };
  const task = makeTask('t1', { spec: { dns, networks: ['app'] } });
  const h = containerConfig(task, 'shoal-app', ['10.10.0.1'], []).HostConfig!;
  t.deepEqual(h.Dns, ['10.10.0.1', '10.0.0.53'], 'discovery first, duplicates once');
  t.deepEqual(h.DnsSearch, ['example.com']);
  t.deepEqual(h.DnsOptions, ['ndots:2']);
  const alone = containerConfig(makeTask('t2', { spec: { dns } })).HostConfig!;
  t.deepEqual(alone.Dns, ['10.0.0.53', '10.10.0.1'], 'no network: the given nameservers');
});
