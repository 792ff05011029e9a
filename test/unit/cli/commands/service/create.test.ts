// cli/commands/service/create.ts: the spec built from the flags; the real cli/bin/shoal
// creating (and waiting); in this process on virtual time, the waits that take seconds.
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { serviceCreate } from '../../../../../cli/commands/service/create.js';
import { RestartCondition, ServiceMode, TaskState } from '../../../../../proto/gen/shoal.js';
import { type fullSpec, NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { ManualClock } from '../../../../helpers/manual-clock.js';
import { lines, parseAs, runInProcess, shoal, usageError } from '../../../../helpers/run-shoal.js';

const create = (line: string[]) => parseAs(serviceCreate, ['service', 'create', ...line]);

// ------------------------------------------------------------------ parsing

test('service create: docker defaults', (t) => {
  const { spec, wait } = create(['--name', 'web', 'nginx']);
  t.is(spec.name, 'web');
  t.is(spec.image, 'nginx');
  t.deepEqual(spec.command, []);
  t.is(spec.mode, ServiceMode.REPLICATED);
  t.is(spec.replicas, 1);
  // unset: the manager's defaults (10 s grace, restart any after 1 s), the image's health check
  t.is(spec.stopGracePeriodMs, undefined);
  t.is(spec.restart, undefined);
  t.is(spec.health, undefined);
  t.is(spec.reservations, undefined);
  t.is(spec.limits, undefined);
  t.deepEqual(spec.env, []);
  t.deepEqual(spec.labels, {});
  t.deepEqual(wait, { timeoutMs: 120_000 });
});

test('service create: every flag', (t) => {
  const { spec, wait } = create([
    '--name=web',
    '--replicas',
    '3',
    '--constraint',
    'node.labels.zone==a',
    '--constraint',
    'node.hostname != host2',
    '--reserve-cpu',
    '0.5',
    '--reserve-memory',
    '64M',
    '--limit-cpu',
    '2',
    '--limit-memory',
    '1G',
    '-e',
    'A=1',
    '--env',
    'B=x=y',
    '-eC=',
    '-l',
    'tier=front',
    '--label',
    'team=core',
    '--stop-grace-period',
    '1m30s',
    '--timeout',
    '30s',
    'img:1',
  ]);
  t.is(spec.replicas, 3);
  t.deepEqual(spec.constraints, ['node.labels.zone==a', 'node.hostname!=host2']);
  t.deepEqual(spec.reservations, { nanoCpus: 500_000_000, memoryBytes: 64 * 1024 ** 2 });
  t.deepEqual(spec.limits, { nanoCpus: 2_000_000_000, memoryBytes: 1024 ** 3 });
  t.deepEqual(spec.env, ['A=1', 'B=x=y', 'C=']);
  t.deepEqual(spec.labels, { tier: 'front', team: 'core' });
  t.is(spec.stopGracePeriodMs, 90_000);
  t.deepEqual(wait, { timeoutMs: 30_000 });
  t.is(spec.image, 'img:1');
});

test('service create: --stop-grace-period 0 is sent as 0', (t) => {
  t.is(create(['--name', 'w', '--stop-grace-period', '0', 'img']).spec.stopGracePeriodMs, 0);
  t.is(create(['--name', 'w', '--stop-grace-period', '0s', 'img']).spec.stopGracePeriodMs, 0);
});

test('service create: only the given resource is set', (t) => {
  const { spec } = create(['--name', 'w', '--limit-memory', '512k', 'img']);
  t.is(spec.reservations, undefined);
  t.deepEqual(spec.limits, { nanoCpus: 0, memoryBytes: 512 * 1024 });
});

test('service create: everything after IMAGE is the command, verbatim', (t) => {
  const { spec } = create(['--name', 'w', 'img', 'sh', '-c', 'x --y', '--name', 'other', '-d', '--', '--help']);
  t.is(spec.name, 'w');
  t.is(spec.image, 'img');
  t.deepEqual(spec.command, ['sh', '-c', 'x --y', '--name', 'other', '-d', '--', '--help']);
});

test('service create: -- ends the flags, the next word is IMAGE', (t) => {
  const { spec } = create(['--name', 'w', '--', '-weird-image', 'a']);
  t.is(spec.image, '-weird-image');
  t.deepEqual(spec.command, ['a']);
});

test('service create: --detach / -d', (t) => {
  t.is(create(['-d', '--name', 'w', 'img']).wait, undefined);
  t.is(create(['--detach', '--name', 'w', 'img']).wait, undefined);
  t.truthy(create(['--detach=false', '--name', 'w', 'img']).wait);
});

test('service create: global mode', (t) => {
  const { spec } = create(['--name', 'w', '--mode', 'global', 'img']);
  t.is(spec.mode, ServiceMode.GLOBAL);
  t.is(spec.replicas, 0);
  t.is(
    usageError(['service', 'create', '--name', 'w', '--mode', 'global', '--replicas', '2', 'img']),
    '--replicas can only be used with --mode replicated',
  );
  t.is(
    usageError(['service', 'create', '--name', 'w', '--mode', 'both', 'img']),
    'invalid --mode "both": expected replicated or global',
  );
});

test('service create: replicas 0 is allowed', (t) => {
  t.is(create(['--name', 'w', '--replicas', '0', 'img']).spec.replicas, 0);
});

test('service create: missing name or image', (t) => {
  t.is(usageError(['service', 'create', 'img']), 'service create requires --name');
  t.is(usageError(['service', 'create', '--name', '', 'img']), 'service create requires --name');
  t.is(usageError(['service', 'create', '--name', 'w']), 'service create requires an IMAGE');
  t.is(usageError(['service', 'create', '--name', 'w', '-d']), 'service create requires an IMAGE');
});

test('service create: bad replicas', (t) => {
  const msg = (v: string): string => usageError(['service', 'create', '--name', 'w', '--replicas', v, 'img']);
  t.is(msg('-1'), '--replicas must be a non-negative integer, got "-1"');
  t.is(msg('1.5'), '--replicas must be a non-negative integer, got "1.5"');
  t.is(msg('three'), '--replicas must be a non-negative integer, got "three"');
  t.is(msg(''), '--replicas must be a non-negative integer, got ""');
  t.is(msg('1e3'), '--replicas must be a non-negative integer, got "1e3"');
  t.is(
    usageError(['service', 'create', '--name', 'w', '--replicas=-1', 'img']),
    '--replicas must be a non-negative integer, got "-1"',
  );
});

// ------------------------------------------------------------------ through shoal

type SentSpec = ReturnType<typeof fullSpec>;

test('service create --detach: the command after IMAGE is kept verbatim, prints the id', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const r = await shoal(
    [
      'service',
      'create',
      '--name',
      'w',
      '--replicas',
      '2',
      '--constraint',
      'node.labels.zone==a',
      '--reserve-memory',
      '64M',
      '--reserve-cpu',
      '0.5',
      '-e',
      'A=1',
      '-l',
      'tier=x',
      '--stop-grace-period',
      '2s',
      '-d',
      'img:1',
      'sh',
      '-c',
      'x --y',
      '--name',
      'z',
    ],
    host,
  );
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  const created = fake.services[0];
  t.is(r.stdout, `${created?.id}\n`);
  t.deepEqual(fake.methods(), ['createService']);
  const spec = (fake.calls[0]?.request as { spec: SentSpec }).spec;
  t.like(spec, {
    name: 'w',
    image: 'img:1',
    replicas: 2,
    stopGracePeriodMs: 2000,
    reservations: { nanoCpus: 5e8, memoryBytes: 64 * 2 ** 20 },
  });
  t.deepEqual(spec.command, ['sh', '-c', 'x --y', '--name', 'z']);
  t.deepEqual(spec.constraints, ['node.labels.zone==a']);
  t.deepEqual(spec.env, ['A=1']);
  t.deepEqual(spec.labels, { tier: 'x' });
});

test('service create: health and restart flags on the wire; unset grace period and restart are not sent', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const [withFlags, plain, noHealth] = await Promise.all([
    shoal(
      [
        'service',
        'create',
        '--name',
        'a',
        '--health-cmd',
        'test -f /ok',
        '--health-interval',
        '2s',
        '--health-retries',
        '2',
        '--restart-condition',
        'on-failure',
        '--restart-max-attempts',
        '3',
        '--stop-grace-period',
        '0',
        '-d',
        'img',
      ],
      host,
    ),
    shoal(['service', 'create', '--name', 'b', '-d', 'img'], host),
    shoal(['service', 'create', '--name', 'c', '--no-healthcheck', '--restart-delay', '0s', '-d', 'img'], host),
  ]);
  for (const r of [withFlags, plain, noHealth]) t.is(r.code, 0, r.stderr);
  const sent = (name: string) =>
    fake.calls.map((c) => (c.request as { spec: SentSpec }).spec).find((s) => s.name === name);
  t.deepEqual(sent('a')?.health, {
    test: ['CMD-SHELL', 'test -f /ok'],
    intervalMs: 2000,
    timeoutMs: 0,
    retries: 2,
    startPeriodMs: 0,
  });
  // delay unset on the wire (the manager's default), 0 grace period sent as 0
  t.deepEqual(sent('a')?.restart, {
    condition: RestartCondition.ON_FAILURE,
    delayMs: undefined,
    maxAttempts: 3,
    windowMs: 0,
  });
  t.is(sent('a')?.stopGracePeriodMs, 0);
  t.is(sent('b')?.health, undefined);
  t.is(sent('b')?.restart, undefined);
  t.is(sent('b')?.stopGracePeriodMs, undefined);
  t.deepEqual(sent('c')?.health?.test, ['NONE']);
  t.deepEqual(sent('c')?.restart, { condition: RestartCondition.ANY, delayMs: 0, maxAttempts: 0, windowMs: 0 });
});

test('service create waits for convergence, progress on stderr, id on stdout', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.statusScript.set('web', [
    { desired: 3, running: 0 },
    { desired: 3, running: 0 },
    { desired: 3, running: 0 },
    { desired: 3, running: 3 },
  ]);
  const r = await shoal(['service', 'create', '--name', 'web', '--replicas', '3', 'img'], host);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(lines(r.stderr), ['web: 0/3 running', 'web: 3/3 running']);
  t.is(r.stdout, `${fake.services[0]?.id}\n`);
  t.deepEqual(fake.methods(), ['createService', 'listServices', 'listServices', 'listServices', 'listServices']);
});

test('service create: manager errors are printed as one line', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addService({ name: 'w' });
  const r = await shoal(['service', 'create', '--name', 'w', 'img'], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: service "w" already exists\n');
});

test('service create --network: sent in spec.networks; inspect shows them; ps JSON rows carry addresses', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const created = await shoal(
    ['service', 'create', '-d', '--name', 'web', '--network', 'backend', '--network', 'front', 'img'],
    host,
  );
  t.is(created.code, 0, created.stderr);
  t.deepEqual((fake.calls[0]?.request as { spec: { networks: string[] } }).spec.networks, ['backend', 'front']);
  const plain = await shoal(['service', 'create', '-d', '--name', 'plain', 'img'], host);
  t.is(plain.code, 0, plain.stderr);
  t.deepEqual((fake.calls[1]?.request as { spec: { networks: string[] } }).spec.networks, []);

  const inspect = await shoal(['service', 'inspect', 'web', 'plain'], host);
  t.is(inspect.code, 0, inspect.stderr);
  const services = JSON.parse(inspect.stdout) as Array<{ networks: string[] }>;
  t.deepEqual(
    services.map((s) => s.networks),
    [['backend', 'front'], []],
  );

  const web = fake.services[0]!;
  fake.tasks = [
    {
      id: 'task1',
      serviceId: web.id,
      serviceName: 'web',
      slot: 1,
      nodeId: NODE1.id,
      spec: web.spec,
      specVersion: 1,
      desiredState: TaskState.RUNNING,
      status: {
        state: TaskState.RUNNING,
        message: 'started',
        err: '',
        containerId: 'c1',
        exitCode: 0,
        timestampMs: Date.now(),
        addresses: [
          { network: 'backend', ip: '10.50.0.5' },
          { network: 'front', ip: '10.51.0.5' },
        ],
      },
      createdAtMs: Date.now(),
      restartHistoryMs: [],
    },
  ];
  const ps = await shoal(['service', 'ps', '--format', 'json', 'web'], host);
  t.is(ps.code, 0, ps.stderr);
  t.deepEqual((JSON.parse(ps.stdout) as Array<{ addresses: unknown }>)[0]?.addresses, [
    { network: 'backend', ip: '10.50.0.5' },
    { network: 'front', ip: '10.51.0.5' },
  ]);
});

// ------------------------------------------------------------------ waits, on virtual time

test('service create: cannot converge -> exit 1 after 5 s without progress, service left in place', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const reason = 'no suitable node (constraint node.labels.zone==x: 2 nodes)';
  fake.statusScript.set('w', [{ desired: 2, running: 0, pendingReason: reason }]);
  const clock = new ManualClock({ auto: true });
  const r = await runInProcess(
    ['service', 'create', '--name', 'w', '--replicas', '2', '--constraint', 'node.labels.zone==x', 'img'],
    host,
    { clock },
  );
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.deepEqual(lines(r.stderr), ['w: 0/2 running', `shoal: service w cannot converge: ${reason}`]);
  t.is(clock.now(), 5000, 'gave up 5 s (of its clock) after the first poll');
  t.is(fake.services.length, 1);
  t.false(fake.methods().includes('removeService'));
});

test('service create: --timeout', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.statusScript.set('w', [{ desired: 1, running: 0 }]);
  const clock = new ManualClock({ auto: true });
  const r = await runInProcess(['service', 'create', '--name', 'w', '--timeout', '500ms', 'img'], host, { clock });
  t.is(r.code, 1);
  t.deepEqual(lines(r.stderr), [
    'w: 0/1 running',
    'shoal: timed out after 500ms waiting for w (0/1 running) to converge',
  ]);
  t.is(clock.now(), 500);
});

test('no manager for the whole --timeout: timed out, naming the last error', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.onCall = (method) => {
    if (method === 'createService')
      fake.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'not the leader' });
  };
  const clock = new ManualClock({ auto: true });
  const r = await runInProcess(['service', 'create', '--name', 'w', '--timeout', '1s', 'img'], host, { clock });
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.deepEqual(lines(r.stderr), [
    'retrying: not the leader',
    'shoal: timed out after 1s waiting for w (not listed yet) to converge (last error: not the leader)',
  ]);
  t.is(clock.now(), 1000);
});
