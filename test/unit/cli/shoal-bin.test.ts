// Runs the real cli/bin/shoal against a fake Control service on 127.0.0.1:0 and checks
// what a user sees: exit code, stdout, stderr.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import {
  Availability,
  NodeStatus,
  type Node,
  RestartCondition,
  TaskState,
  type Task,
} from '../../../proto/gen/shoal.js';
import { FakeControl, fullSpec } from '../../helpers/fake-control.js';
import { deadAddress, silentServer } from '../../helpers/ports.js';

const BIN = fileURLToPath(new URL('../../../cli/bin/shoal', import.meta.url));

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function shoal(args: string[], host: string | undefined): Promise<Result> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.SHOAL_HOST;
  if (host !== undefined) env.SHOAL_HOST = host;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: Date.now() - started }));
  });
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

const NODE1: Node = {
  id: 'node1aaaaaaaaaaaaaaaaaaaa',
  description: {
    hostname: 'host1',
    resources: { nanoCpus: 2e9, memoryBytes: 2 ** 31 },
    labels: { zone: 'a' },
    engineVersion: '27.3.1',
    os: 'linux',
    arch: 'x86_64',
    address: '10.213.0.11',
  },
  labels: { ssd: 'true' },
  availability: Availability.ACTIVE,
  status: NodeStatus.READY,
  statusMessage: '',
  createdAtMs: 1,
  updatedAtMs: 2,
};
const NODE2: Node = {
  ...NODE1,
  id: 'node2bbbbbbbbbbbbbbbbbbbb',
  description: { ...NODE1.description!, hostname: 'host2', address: '10.213.0.12' },
  availability: Availability.DRAIN,
  status: NodeStatus.DOWN,
};

async function withFake(t: { teardown(fn: () => Promise<void>): void }): Promise<{ fake: FakeControl; host: string }> {
  const fake = new FakeControl();
  const host = await fake.start();
  t.teardown(() => fake.stop());
  fake.nodes = [NODE2, NODE1];
  return { fake, host };
}

// ------------------------------------------------------------------ usage

test('--help prints usage and exits 0; bare shoal exits 1; unknown command is one line', async (t) => {
  const [help, bare, serviceHelp, unknown] = await Promise.all([
    shoal(['--help'], undefined),
    shoal([], undefined),
    shoal(['service', '--help'], undefined),
    shoal(['frobnicate'], undefined),
  ]);
  t.is(help.code, 0);
  t.regex(help.stdout, /^Usage: {2}shoal/);
  t.is(bare.code, 1);
  t.regex(bare.stderr, /^Usage: {2}shoal/);
  t.is(serviceHelp.code, 0);
  t.regex(serviceHelp.stdout, /shoal service COMMAND[\s\S]*create[\s\S]*scale/);
  t.is(unknown.code, 1);
  t.is(unknown.stdout, '');
  t.is(unknown.stderr, 'shoal: unknown command "frobnicate" (see shoal --help)\n');
});

// ------------------------------------------------------------------ bad input: one line, no call

test('bad input: one stderr line, exit 1, nothing sent to the manager', async (t) => {
  const { fake, host } = await withFake(t);
  const cases: Array<[string[], string]> = [
    [['service', 'create', '--foo', '--name', 'w', 'img'], 'shoal: unknown flag --foo for "service create"'],
    [
      ['service', 'create', '--name', 'w', '--constraint', 'nonsense', 'img'],
      'shoal: invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE',
    ],
    [
      ['service', 'create', '--name', 'w', '--replicas', '-1', 'img'],
      'shoal: --replicas must be a non-negative integer, got "-1"',
    ],
    [['service', 'create', '--name', 'w'], 'shoal: service create requires an IMAGE'],
    [['service', 'create', 'img'], 'shoal: service create requires --name'],
    [
      ['service', 'create', '--name', 'w', '--mode', 'global', '--replicas', '2', 'img'],
      'shoal: --replicas can only be used with --mode replicated',
    ],
    [
      ['service', 'create', '--name', 'w', '--reserve-memory', 'lots', 'img'],
      'shoal: invalid --reserve-memory "lots": expected bytes or a number with k, m, g or t (e.g. 64M)',
    ],
    [
      ['service', 'create', '--name', 'w', '--stop-grace-period', '10', 'img'],
      'shoal: invalid --stop-grace-period "10": expected a duration like 10s, 500ms or 1m30s',
    ],
    [['service', 'create', '--name', 'w', '-e', 'NOEQ', 'img'], 'shoal: invalid --env "NOEQ": expected KEY=VALUE'],
    [['service', 'scale', 'web=x'], 'shoal: invalid scale "web=x": replicas must be a non-negative integer, got "x"'],
    [
      ['node', 'update', '--availability', 'gone', 'host1'],
      'shoal: invalid --availability "gone": expected active, pause or drain',
    ],
    [['node', 'update', '--label-add', 'novalue', 'host1'], 'shoal: invalid --label-add "novalue": expected KEY=VALUE'],
    [['service', 'ps'], 'shoal: service ps requires at least one SERVICE'],
    [
      ['service', 'ps', '-f', 'desired-state=gone', 'web'],
      'shoal: invalid --filter "desired-state=gone": desired-state must be running, shutdown or accepted',
    ],
    [
      ['service', 'create', '--name', 'w', '--no-healthcheck', '--health-cmd', 'true', 'img'],
      'shoal: --no-healthcheck conflicts with --health-cmd',
    ],
    [
      ['service', 'create', '--name', 'w', '--health-retries', 'x', 'img'],
      'shoal: --health-retries must be a non-negative integer, got "x"',
    ],
    [
      ['service', 'create', '--name', 'w', '--restart-condition', 'always', 'img'],
      'shoal: invalid --restart-condition "always": expected none, on-failure or any',
    ],
    [
      ['service', 'create', '--name', 'w', '--restart-delay', '5', 'img'],
      'shoal: invalid --restart-delay "5": expected a duration like 10s, 500ms or 1m30s',
    ],
    [['manager', 'ls', 'extra'], 'shoal: "manager ls" accepts no arguments, got "extra"'],
    [
      ['network', 'create', '--subnet', '10.43.0.0/25', 'n'],
      'shoal: invalid --subnet "10.43.0.0/25": the prefix length must be between /8 and /24 (each host gets a /24 of it)',
    ],
    [
      ['network', 'create', '--subnet', '10.43.1.0/16', 'n'],
      'shoal: invalid --subnet "10.43.1.0/16": host bits are set (did you mean 10.43.0.0/16?)',
    ],
    [['network', 'create'], 'shoal: network create requires a NETWORK name'],
    [['network', 'rm'], 'shoal: network rm requires at least one NETWORK'],
    [['node', 'rm'], 'shoal: node rm requires at least one NODE'],
    [
      ['service', 'create', '--name', 'w', '--network', 'a', '--network', 'a', 'img'],
      'shoal: network "a" is given twice',
    ],
  ];
  const results = await Promise.all(cases.map(([args]) => shoal(args, host)));
  results.forEach((r, i) => {
    const [args, expected] = cases[i]!;
    t.is(r.code, 1, args.join(' '));
    t.is(r.stdout, '', args.join(' '));
    t.is(r.stderr, `${expected}\n`, args.join(' '));
  });
  t.deepEqual(fake.calls, []);
});

// ------------------------------------------------------------------ service create

test('service create --detach: the command after IMAGE is kept verbatim, prints the id', async (t) => {
  const { fake, host } = await withFake(t);
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
  const spec = (fake.calls[0]?.request as { spec: ReturnType<typeof fullSpec> }).spec;
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
  const { fake, host } = await withFake(t);
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
    fake.calls.map((c) => (c.request as { spec: ReturnType<typeof fullSpec> }).spec).find((s) => s.name === name);
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
  const { fake, host } = await withFake(t);
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

test('service create: cannot converge -> exit 1 after 5 s without progress, service left in place', async (t) => {
  const { fake, host } = await withFake(t);
  const reason = 'no suitable node (constraint node.labels.zone==x: 2 nodes)';
  fake.statusScript.set('w', [{ desired: 2, running: 0, pendingReason: reason }]);
  const r = await shoal(
    ['service', 'create', '--name', 'w', '--replicas', '2', '--constraint', 'node.labels.zone==x', 'img'],
    host,
  );
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.deepEqual(lines(r.stderr), ['w: 0/2 running', `shoal: service w cannot converge: ${reason}`]);
  t.true(r.ms >= 5000, `gave up after ${r.ms} ms`);
  t.is(fake.services.length, 1);
  t.false(fake.methods().includes('removeService'));
});

test('service create: --timeout', async (t) => {
  const { fake, host } = await withFake(t);
  fake.statusScript.set('w', [{ desired: 1, running: 0 }]);
  const r = await shoal(['service', 'create', '--name', 'w', '--timeout', '500ms', 'img'], host);
  t.is(r.code, 1);
  t.deepEqual(lines(r.stderr), [
    'w: 0/1 running',
    'shoal: timed out after 500ms waiting for w (0/1 running) to converge',
  ]);
});

test('service create: manager errors are printed as one line', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'w' });
  const r = await shoal(['service', 'create', '--name', 'w', 'img'], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: service "w" already exists\n');
});

// ------------------------------------------------------------------ service ls / ps / inspect / scale / rm

test('service ls: table and JSON rows with running/desired', async (t) => {
  const { fake, host } = await withFake(t);
  const web = fake.addService({ name: 'web', replicas: 3, image: 'nginx', command: ['a', 'b'] });
  fake.addService({ name: 'agent', mode: 1, replicas: 0 });
  fake.statusScript.set('web', [{ desired: 3, running: 2 }]);
  fake.statusScript.set('agent', [{ desired: 2, running: 2 }]);
  const [table, json] = await Promise.all([
    shoal(['service', 'ls'], host),
    shoal(['service', 'ls', '--format', 'json'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(tableLines[1] ?? '', /^\S{12} +agent +global +2\/2 +busybox$/);
  t.regex(tableLines[2] ?? '', /^\S{12} +web +replicated +2\/3 +nginx$/);
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.like(rows[1], { id: web.id, name: 'web', mode: 'replicated', replicas: 3, running: 2, desired: 3, image: 'nginx' });
  t.deepEqual(rows[1]?.command, ['a', 'b']);
  t.deepEqual(rows[1]?.constraints, []);
});

test('service ps: JSON rows and table, NODE is the hostname, empty while unassigned', async (t) => {
  const { fake, host } = await withFake(t);
  const web = fake.addService({ name: 'web', replicas: 2 });
  const base: Task = {
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
      addresses: [],
    },
    createdAtMs: Date.now(),
    restartHistoryMs: [],
  };
  fake.tasks = [
    base,
    {
      ...base,
      id: 'task2',
      slot: 2,
      nodeId: '',
      status: { ...base.status!, state: TaskState.PENDING, err: 'no suitable node', containerId: '' },
    },
  ];
  const [json, table] = await Promise.all([
    shoal(['service', 'ps', 'web', '--format', 'json'], host),
    shoal(['service', 'ps', 'web'], host),
  ]);
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.like(rows[0], {
    id: 'task1',
    name: 'web.1',
    service: 'web',
    slot: 1,
    node: 'host1',
    nodeId: NODE1.id,
    desiredState: 'running',
    state: 'running',
    containerId: 'c1',
    exitCode: 0,
  });
  t.like(rows[1], { id: 'task2', name: 'web.2', node: '', nodeId: '', state: 'pending', error: 'no suitable node' });
  t.regex(String(rows[0]?.updatedAt), /^\d{4}-\d\d-\d\dT/);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^ID +NAME +NODE +DESIRED STATE +CURRENT STATE +ERROR$/);
  t.regex(tableLines[1] ?? '', /^task1 +web\.1 +host1 +Running +Running (Less than a second|\d+ seconds?) ago$/);
  t.regex(tableLines[2] ?? '', /^task2 +web\.2 {2,}Running +Pending .* ago +no suitable node$/);

  const missing = await shoal(['service', 'ps', 'nope'], host);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'shoal: service "nope" not found\n');
});

test('service ps: slot history (newest first, older as \\_), errors of failed tasks, --filter desired-state', async (t) => {
  const { fake, host } = await withFake(t);
  const web = fake.addService({ name: 'web', replicas: 1 });
  const now = Date.now();
  const task = (
    id: string,
    over: Partial<Task> & { state: TaskState; err?: string; exitCode?: number; ago: number },
  ): Task => ({
    id,
    serviceId: web.id,
    serviceName: 'web',
    slot: 1,
    nodeId: NODE1.id,
    spec: web.spec,
    specVersion: 1,
    desiredState: TaskState.SHUTDOWN,
    status: {
      state: over.state,
      message: '',
      err: over.err ?? '',
      containerId: `c-${id}`,
      exitCode: over.exitCode ?? 0,
      timestampMs: now - over.ago,
      addresses: [],
    },
    createdAtMs: now - over.ago - 1000,
    ...over,
    restartHistoryMs: over.restartHistoryMs ?? [],
  });
  fake.tasks = [
    task('t-oldest', { state: TaskState.FAILED, err: 'task: non-zero exit (137)', exitCode: 137, ago: 30_000 }),
    task('t-current', { state: TaskState.RUNNING, desiredState: TaskState.RUNNING, ago: 2000 }),
    task('t-unhealthy', { state: TaskState.FAILED, err: 'unhealthy', exitCode: 0, ago: 10_000, nodeId: NODE2.id }),
  ];
  const [table, json, running, shutdown] = await Promise.all([
    shoal(['service', 'ps', 'web'], host),
    shoal(['service', 'ps', '--format', 'json', 'web'], host),
    shoal(['service', 'ps', '-f', 'desired-state=running', '-q', 'web'], host),
    shoal(['service', 'ps', '--filter', 'desired-state=shutdown', 'web'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[1] ?? '', /^t-current +web\.1 +host1 +Running +Running \d+ seconds ago$/);
  t.regex(tableLines[2] ?? '', /^t-unhealthy + \\_ web\.1 +host2 +Shutdown +Failed \d+ seconds ago +unhealthy$/);
  t.regex(
    tableLines[3] ?? '',
    /^t-oldest + \\_ web\.1 +host1 +Shutdown +Failed \d+ seconds ago +task: non-zero exit \(137\)$/,
  );
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.deepEqual(
    rows.map((r) => r.id),
    ['t-current', 't-unhealthy', 't-oldest'],
  );
  t.like(rows[2], {
    name: 'web.1',
    state: 'failed',
    desiredState: 'shutdown',
    error: 'task: non-zero exit (137)',
    exitCode: 137,
    containerId: 'c-t-oldest',
  });
  t.like(rows[1], { state: 'failed', error: 'unhealthy', node: 'host2' });
  t.is(running.stdout, 't-current\n');
  const shutdownLines = lines(shutdown.stdout);
  t.is(shutdownLines.length, 3);
  // filtered: the newest shown task of the slot is not history
  t.regex(shutdownLines[1] ?? '', /^t-unhealthy +web\.1 /);
  t.regex(shutdownLines[2] ?? '', /^t-oldest + \\_ web\.1 /);
});

test('service inspect: health and restart settings as the manager stored them', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({
    name: 'web',
    health: {
      test: ['CMD-SHELL', 'wget -q localhost'],
      intervalMs: 5000,
      timeoutMs: 2000,
      retries: 3,
      startPeriodMs: 0,
    },
    restart: { condition: RestartCondition.ON_FAILURE, delayMs: 1000, maxAttempts: 5, windowMs: 0 },
    stopGracePeriodMs: 0,
  });
  const r = await shoal(['service', 'inspect', 'web'], host);
  t.is(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  t.deepEqual(row?.health, {
    test: ['CMD-SHELL', 'wget -q localhost'],
    intervalMs: 5000,
    timeoutMs: 2000,
    retries: 3,
    startPeriodMs: 0,
  });
  t.deepEqual(row?.restart, { condition: 'on-failure', delayMs: 1000, maxAttempts: 5, windowMs: 0 });
  t.is(row?.stopGracePeriodMs, 0);
});

test('service inspect: a JSON array; an unknown ref is reported and exits 1', async (t) => {
  const { fake, host } = await withFake(t);
  const web = fake.addService({ name: 'web', replicas: 2, env: ['A=1'] });
  const ok = await shoal(['service', 'inspect', 'web'], host);
  t.is(ok.code, 0, ok.stderr);
  const rows = JSON.parse(ok.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 1);
  t.like(rows[0], { id: web.id, name: 'web', replicas: 2, running: 2, env: ['A=1'] });
  const partial = await shoal(['service', 'inspect', web.id.slice(0, 6), 'nope'], host);
  t.is(partial.code, 1);
  t.is((JSON.parse(partial.stdout) as unknown[]).length, 1);
  t.is(partial.stderr, 'shoal: service "nope" not found\n');
});

test('service scale waits, then prints "NAME scaled to N"', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'web', replicas: 1 });
  fake.statusScript.set('web', [
    { desired: 3, running: 1 },
    { desired: 3, running: 3, stopping: 0 },
  ]);
  const r = await shoal(['service', 'scale', 'web=3'], host);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'web scaled to 3\n');
  t.deepEqual(lines(r.stderr), ['web: 1/3 running', 'web: 3/3 running']);
  t.deepEqual(fake.calls[0], { method: 'scaleService', request: { ref: 'web', replicas: 3 } });

  const detached = await shoal(['service', 'scale', '--detach', 'web=0', 'nope=1'], host);
  t.is(detached.code, 1);
  t.is(detached.stdout, 'web scaled to 0\n');
  t.is(detached.stderr, 'shoal: service "nope" not found\n');
});

test('service rm prints each removed name; a missing one is an error line', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'a' });
  fake.addService({ name: 'b' });
  const r = await shoal(['service', 'rm', 'a', 'nope', 'b'], host);
  t.is(r.code, 1);
  t.is(r.stdout, 'a\nb\n');
  t.is(r.stderr, 'shoal: service "nope" not found\n');
  t.is(fake.services.length, 0);
});

// ------------------------------------------------------------------ nodes

test('node ls / inspect / update', async (t) => {
  const { fake, host } = await withFake(t);
  const [table, json, inspect, update] = await Promise.all([
    shoal(['node', 'ls'], host),
    shoal(['node', 'ls', '--format', 'json'], host),
    shoal(['node', 'inspect', 'host2'], host),
    shoal(['node', 'update', '--availability', 'drain', '--label-add', 'zone=b', '--label-rm', 'ssd', 'host1'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  t.regex(lines(table.stdout)[1] ?? '', /^node1a+ +host1 +Ready +Active +27\.3\.1$/);
  t.regex(lines(table.stdout)[2] ?? '', /^node2b+ +host2 +Down +Drain +27\.3\.1$/);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.like(rows[0], {
    id: NODE1.id,
    hostname: 'host1',
    status: 'ready',
    availability: 'active',
    engineVersion: '27.3.1',
    address: '10.213.0.11',
    cpus: 2,
    memoryBytes: 2 ** 31,
  });
  t.deepEqual(rows[0]?.labels, { zone: 'a', ssd: 'true' });
  t.like((JSON.parse(inspect.stdout) as unknown[])[0], { id: NODE2.id, status: 'down', availability: 'drain' });
  t.is(update.code, 0, update.stderr);
  t.is(update.stdout, 'host1\n');
  const call = fake.calls.find((c) => c.method === 'updateNode');
  t.deepEqual(call?.request, {
    ref: 'host1',
    availability: Availability.DRAIN,
    labelAdd: { zone: 'b' },
    labelRm: ['ssd'],
  });
});

test('node rm: a down node goes, one not down needs --force; each ref printed, a refused one is an error line', async (t) => {
  const { fake, host } = await withFake(t);
  const refused = await shoal(['node', 'rm', 'host1', 'host2'], host);
  t.is(refused.code, 1);
  t.is(refused.stdout, 'host2\n');
  t.is(refused.stderr, 'shoal: node host1 is not down: stop its agent first, or use --force\n');
  t.deepEqual(
    fake.nodes.map((n) => n.id),
    [NODE1.id],
  );
  const forced = await shoal(['node', 'rm', '-f', 'host1'], host);
  t.is(forced.code, 0, forced.stderr);
  t.is(forced.stdout, 'host1\n');
  t.deepEqual(fake.nodes, []);
  t.deepEqual(
    fake.calls.filter((c) => c.method === 'removeNode').map((c) => c.request),
    [
      { ref: 'host1', force: false },
      { ref: 'host2', force: false },
      { ref: 'host1', force: true },
    ],
  );
  const missing = await shoal(['node', 'rm', 'nope'], host);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'shoal: node "nope" not found\n');
});

// ------------------------------------------------------------------ networks

test('network create: prints the id; --subnet and --label on the wire; manager errors as one line', async (t) => {
  const { fake, host } = await withFake(t);
  const r = await shoal(['network', 'create', '--subnet', '10.50.0.0/16', '--label', 'tier=db', 'backend'], host);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, '');
  t.is(r.stdout, `${fake.networks[0]?.id}\n`);
  t.deepEqual(fake.calls[0], {
    method: 'createNetwork',
    request: { spec: { name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db' } } },
  });
  const pooled = await shoal(['network', 'create', 'front'], host);
  t.is(pooled.code, 0, pooled.stderr);
  t.deepEqual((fake.calls[1]?.request as { spec: unknown }).spec, { name: 'front', subnet: '', labels: {} });
  t.is(fake.networks[1]?.spec?.subnet, '10.43.0.0/16', 'the manager picks the subnet');
  const dup = await shoal(['network', 'create', 'backend'], host);
  t.is(dup.code, 1);
  t.is(dup.stdout, '');
  t.is(dup.stderr, 'shoal: network "backend" already exists\n');
  const overlap = await shoal(['network', 'create', '--subnet', '10.50.0.0/16', 'other'], host);
  t.is(overlap.code, 1);
  t.is(overlap.stderr, 'shoal: subnet 10.50.0.0/16 overlaps network backend (10.50.0.0/16)\n');
});

test('network ls: table, JSON rows with counts, -q', async (t) => {
  const { fake, host } = await withFake(t);
  const dflt = fake.addNetwork({ name: 'shoal', subnet: '10.42.0.0/16' }, { isDefault: true, vni: 4096 });
  const backend = fake.addNetwork({ name: 'backend', subnet: '10.50.0.0/16' });
  fake.addService({ name: 'web', networks: ['backend'] });
  fake.addService({ name: 'api', networks: ['backend', 'shoal'] });
  fake.addService({ name: 'plain' }); // names none: the default network
  fake.leases = [
    {
      networkId: backend.id,
      nodeId: NODE1.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: 1,
    },
    {
      networkId: backend.id,
      nodeId: NODE2.id,
      subnet: '10.50.1.0/24',
      nodeAddress: '10.213.0.12',
      vtepMac: '02:00:00:00:00:02',
      createdAtMs: 1,
    },
    {
      networkId: dflt.id,
      nodeId: NODE1.id,
      subnet: '10.42.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:03',
      createdAtMs: 1,
    },
  ];
  const [table, json, quiet] = await Promise.all([
    shoal(['network', 'ls'], host),
    shoal(['network', 'ls', '--format', 'json'], host),
    shoal(['network', 'ls', '-q'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^NETWORK ID +NAME +SUBNET +VNI +DEFAULT +SERVICES$/);
  t.regex(
    tableLines[1] ?? '',
    new RegExp(`^${backend.id.slice(0, 12)} +backend +10\\.50\\.0\\.0/16 +${backend.vni} {10,}2$`),
  );
  t.regex(tableLines[2] ?? '', new RegExp(`^${dflt.id.slice(0, 12)} +shoal +10\\.42\\.0\\.0/16 +4096 +yes +2$`));
  t.deepEqual(JSON.parse(json.stdout), [
    {
      id: backend.id,
      name: 'backend',
      subnet: '10.50.0.0/16',
      vni: backend.vni,
      default: false,
      services: 2,
      hosts: 2,
    },
    { id: dflt.id, name: 'shoal', subnet: '10.42.0.0/16', vni: 4096, default: true, services: 2, hosts: 1 },
  ]);
  t.is(quiet.stdout, `${backend.id}\n${dflt.id}\n`);
  fake.networks = [];
  const empty = await shoal(['network', 'ls', '--format', 'json'], host);
  t.is(empty.stdout, '[]\n');
});

test('network inspect: leases with hostnames, services; an unknown one is an error line', async (t) => {
  const { fake, host } = await withFake(t);
  const backend = fake.addNetwork({ name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db' } });
  fake.addService({ name: 'web', networks: ['backend'] });
  fake.leases = [
    {
      networkId: backend.id,
      nodeId: NODE2.id,
      subnet: '10.50.1.0/24',
      nodeAddress: '10.213.0.12',
      vtepMac: '02:00:00:00:00:02',
      createdAtMs: 1,
    },
    {
      networkId: backend.id,
      nodeId: NODE1.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: 1,
    },
  ];
  const r = await shoal(['network', 'inspect', 'backend', 'nope', backend.id.slice(0, 6)], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: network "nope" not found\n');
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.deepEqual(rows[0], {
    id: backend.id,
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: backend.vni,
    hostPrefixLen: 24,
    default: false,
    labels: { tier: 'db' },
    createdAt: '2026-01-01T00:00:00.000Z',
    leases: [
      { node: 'host1', nodeId: NODE1.id, subnet: '10.50.0.0/24', nodeAddress: '10.213.0.11' },
      { node: 'host2', nodeId: NODE2.id, subnet: '10.50.1.0/24', nodeAddress: '10.213.0.12' },
    ],
    services: ['web'],
  });
  t.deepEqual(rows[1], rows[0], 'an id prefix finds it too');
  t.is(fake.count('listNodes'), 1, 'one ListNodes for every lease');
});

test("network rm: prints each name; one in use gets the manager's one-line error and exit 1", async (t) => {
  const { fake, host } = await withFake(t);
  fake.addNetwork({ name: 'a' });
  fake.addNetwork({ name: 'busy' });
  fake.addNetwork({ name: 'b' });
  fake.addService({ name: 'web', networks: ['busy'] });
  const r = await shoal(['network', 'rm', 'a', 'busy', 'nope', 'b'], host);
  t.is(r.code, 1);
  t.is(r.stdout, 'a\nb\n');
  t.is(r.stderr, 'shoal: network "busy" is in use by service web\nshoal: network "nope" not found\n');
  t.deepEqual(
    fake.networks.map((n) => n.spec?.name),
    ['busy'],
  );
  const stillBusy = await shoal(['network', 'remove', 'busy'], host);
  t.is(stillBusy.code, 1);
  t.is(stillBusy.stderr, 'shoal: network "busy" is in use by service web\n');
  fake.addNetwork({ name: 'shoal' }, { isDefault: true });
  const dflt = await shoal(['network', 'rm', 'shoal'], host);
  t.is(dflt.code, 1);
  t.is(dflt.stderr, 'shoal: network "shoal" is the default network and cannot be removed\n');
  fake.services = [];
  const after = await shoal(['network', 'rm', 'busy'], host);
  t.is(after.code, 0, after.stderr);
  t.deepEqual(
    fake.networks.map((n) => n.spec?.name),
    ['shoal'],
  );
});

test('service create --network: sent in spec.networks; inspect shows them; ps JSON rows carry addresses', async (t) => {
  const { fake, host } = await withFake(t);
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

// ------------------------------------------------------------------ managers

test('manager ls: table with Leader / Reachable, JSON rows, -q', async (t) => {
  const { fake, host } = await withFake(t);
  const now = Date.now();
  fake.managers = [
    { id: 'mgr-b', address: '10.213.0.2:4242', leader: false, startedAtMs: now - 120_000 },
    { id: 'mgr-a', address: '10.213.0.1:4242', leader: true, startedAtMs: now - 3_600_000 },
  ];
  const [table, json, quiet] = await Promise.all([
    shoal(['manager', 'ls'], host),
    shoal(['manager', 'ls', '--format', 'json'], host),
    shoal(['manager', 'ls', '-q'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^ID +ADDRESS +LEADER +STARTED$/);
  t.regex(tableLines[1] ?? '', /^mgr-a +10\.213\.0\.1:4242 +Leader +About an hour ago$/);
  t.regex(tableLines[2] ?? '', /^mgr-b +10\.213\.0\.2:4242 +Reachable +2 minutes ago$/);
  t.deepEqual(JSON.parse(json.stdout), [
    { id: 'mgr-a', address: '10.213.0.1:4242', leader: true, startedAt: new Date(now - 3_600_000).toISOString() },
    { id: 'mgr-b', address: '10.213.0.2:4242', leader: false, startedAt: new Date(now - 120_000).toISOString() },
  ]);
  t.is(quiet.stdout, 'mgr-a\nmgr-b\n');
});

// ------------------------------------------------------------------ reaching the manager

test.serial('unreachable manager: one line naming the address, without waiting out the deadline', async (t) => {
  const dead = await deadAddress();
  // A --help run started alongside is the baseline: startup time varies with machine load.
  const [r, baseline] = await Promise.all([shoal(['node', 'ls'], dead), shoal(['--help'], dead)]);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.is(r.stderr, `shoal: cannot reach the manager at ${dead} (is it running? set --host or SHOAL_HOST)\n`);
  t.true(r.ms < baseline.ms + 5000, `took ${r.ms} ms, --help ${baseline.ms} ms (the call deadline is 10 s)`);
});

test('several addresses: the next one is tried on UNAVAILABLE', async (t) => {
  const { host } = await withFake(t);
  const dead = await deadAddress();
  const r = await shoal(['--host', `${dead},${host}`, 'node', 'ls', '-q'], 'ignored:1');
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${NODE1.id}\n${NODE2.id}\n`);
});

test('a manager answering UNAVAILABLE: failover, and its details when none answers', async (t) => {
  const { fake: sick, host: sickHost } = await withFake(t);
  sick.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'not the leader' });
  const { fake: good, host: goodHost } = await withFake(t);
  good.addService({ name: 'web' });
  const [failover, alone] = await Promise.all([
    shoal(['service', 'ls', '-q'], `${sickHost},${goodHost}`),
    shoal(['service', 'ls'], sickHost),
  ]);
  t.is(failover.code, 0, failover.stderr);
  t.is(failover.stdout, `${good.services[0]?.id}\n`);
  t.is(alone.code, 1);
  t.is(alone.stderr, 'shoal: not the leader\n');
});

test.serial('a first address that does not answer costs about 1 s, not the 10 s call deadline', async (t) => {
  const { host } = await withFake(t);
  const silent = await silentServer();
  t.teardown(() => silent.close());
  // The same command on the good address alone, started alongside, is the baseline.
  const [r, baseline] = await Promise.all([
    shoal(['node', 'ls', '-q'], `${silent.address},${host}`),
    shoal(['node', 'ls', '-q'], host),
  ]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, baseline.stdout);
  t.true(r.ms < baseline.ms + 3000, `took ${r.ms} ms, ${baseline.ms} ms with the good address alone`);
});

test('a manager failing over mid-wait: the converge wait moves on to the next manager', async (t) => {
  const { fake: a, host: hostA } = await withFake(t);
  const { fake: b, host: hostB } = await withFake(t);
  b.services = a.services; // one cluster store behind both
  a.statusScript.set('web', [{ desired: 3, running: 1 }]);
  b.statusScript.set('web', [
    { desired: 3, running: 2 },
    { desired: 3, running: 3 },
  ]);
  a.onCall = (method) => {
    if (method === 'listServices' && a.count('listServices') === 3) setTimeout(() => a.kill(), 50);
  };
  const r = await shoal(['service', 'create', '--name', 'web', '--replicas', '3', 'img'], `${hostA},${hostB}`);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${a.services[0]?.id}\n`);
  t.deepEqual(lines(r.stderr), ['web: 1/3 running', 'web: 2/3 running', 'web: 3/3 running']);
  t.is(a.count('createService'), 1);
  t.true(b.count('listServices') >= 2);
});

test('no leader for a while (a single manager, election running): the wait retries until it answers', async (t) => {
  const { fake, host } = await withFake(t);
  fake.addService({ name: 'web', replicas: 1 });
  fake.statusScript.set('web', [
    { desired: 2, running: 1 },
    { desired: 2, running: 1 },
    { desired: 2, running: 2 },
  ]);
  fake.onCall = (method) => {
    if (method === 'scaleService')
      fake.failNext('listServices', { code: grpcStatus.UNAVAILABLE, details: 'no leader' }, 4);
  };
  const r = await shoal(['service', 'scale', 'web=2'], host);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'web scaled to 2\n');
  t.deepEqual(lines(r.stderr), ['retrying: no leader', 'web: 1/2 running', 'web: 2/2 running']);
  t.is(fake.count('listServices'), 4 + 3);
});

test('no manager for the whole --timeout: timed out, naming the last error', async (t) => {
  const { fake, host } = await withFake(t);
  fake.onCall = (method) => {
    if (method === 'createService')
      fake.failures.set('listServices', { code: grpcStatus.UNAVAILABLE, details: 'not the leader' });
  };
  const r = await shoal(['service', 'create', '--name', 'w', '--timeout', '1s', 'img'], host);
  t.is(r.code, 1);
  t.is(r.stdout, '');
  t.deepEqual(lines(r.stderr), [
    'retrying: not the leader',
    'shoal: timed out after 1s waiting for w (not listed yet) to converge (last error: not the leader)',
  ]);
});
