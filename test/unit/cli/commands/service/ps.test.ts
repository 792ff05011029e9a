// cli/commands/service/ps.ts: task rows, the table with each slot's history, --filter; and
// `service ps` through the real cli/bin/shoal.
import test from 'ava';
import { imageColumn, servicePs, sortTaskRows, taskRow, taskTable } from '../../../../../cli/commands/service/ps.js';
import { type Node, type Task, TaskState } from '../../../../../proto/gen/shoal.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';
import { T0, webSpec as spec } from '../../../../helpers/cli-fixtures.js';

const node: Pick<Node, 'id'> = { id: 'n1aaaaaaaaaaaaaaaaaaaaaaa' };

function task(over: Partial<Task> & { state?: TaskState; err?: string; at?: number }): Task {
  const { state = TaskState.RUNNING, err = '', at = T0, ...rest } = over;
  return {
    id: 't1bbbbbbbbbbbbbbbbbbbbbbb',
    serviceId: 's1cccccccccccccccccccccccc',
    serviceName: 'web',
    slot: 1,
    nodeId: node.id,
    spec,
    specVersion: 1,
    desiredState: TaskState.RUNNING,
    status: { state, message: 'started', err, containerId: 'c0ffee', exitCode: 0, timestampMs: at, addresses: [] },
    createdAtMs: T0 - 1000,
    ...rest,
    restartHistoryMs: rest.restartHistoryMs ?? [],
  };
}

test('taskRow: hostname resolved, lower-case states, ISO times', (t) => {
  const hostnames = new Map([[node.id, 'host1']]);
  const row = taskRow(task({ state: TaskState.FAILED, err: 'exit 1' }), hostnames);
  t.deepEqual(row, {
    id: 't1bbbbbbbbbbbbbbbbbbbbbbb',
    name: 'web.1',
    service: 'web',
    serviceId: 's1cccccccccccccccccccccccc',
    slot: 1,
    node: 'host1',
    nodeId: node.id,
    image: 'busybox:latest',
    desiredState: 'running',
    state: 'failed',
    error: 'exit 1',
    message: 'started',
    containerId: 'c0ffee',
    exitCode: 0,
    addresses: [],
    specVersion: 1,
    createdAt: '2026-01-02T03:04:04.000Z',
    updatedAt: '2026-01-02T03:04:05.000Z',
  });
  t.like(taskRow(task({ nodeId: '', state: TaskState.PENDING, err: 'no suitable node' }), hostnames), {
    node: '',
    state: 'pending',
    error: 'no suitable node',
  });
  t.like(taskRow(task({ nodeId: 'gone-node' }), hostnames), { node: 'gone-node' });
  // global task: slot 0, named after the node
  t.like(taskRow(task({ slot: 0 }), hostnames), { name: `web.${node.id.slice(0, 12)}` });
  // no status timestamp: creation time
  t.like(taskRow(task({ at: 0 }), hostnames), { updatedAt: '2026-01-02T03:04:04.000Z' });
});

test('taskTable: docker columns, state with age, unassigned node empty', (t) => {
  const hostnames = new Map([[node.id, 'host1']]);
  const rows = sortTaskRows([
    taskRow(
      task({ id: 'old', state: TaskState.SHUTDOWN, desiredState: TaskState.SHUTDOWN, at: T0 - 60_000 }),
      hostnames,
    ),
    taskRow(
      task({
        id: 'pend',
        slot: 2,
        nodeId: '',
        state: TaskState.PENDING,
        err: 'no suitable node (1 node not available)',
      }),
      hostnames,
    ),
    taskRow(task({ id: 'new' }), hostnames),
  ]);
  t.deepEqual(
    rows.map((r) => r.id),
    ['new', 'old', 'pend'],
  );
  const lines = taskTable(rows, T0 + 5000).split('\n');
  t.regex(lines[0] ?? '', /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR$/);
  t.regex(lines[1] ?? '', /^new +web\.1 +busybox:latest +host1 +Running +Running 5 seconds ago$/);
  t.regex(lines[2] ?? '', /^old + \\_ web\.1 +busybox:latest +host1 +Shutdown +Shutdown About a minute ago$/);
  t.regex(
    lines[3] ?? '',
    /^pend +web\.2 +busybox:latest {2,}Running +Pending 5 seconds ago +no suitable node \(1 node not available\)$/,
  );
});

test('taskTable: slot history newest first, older tasks as " \\_ name", errors of failed tasks', (t) => {
  const hostnames = new Map([
    [node.id, 'host1'],
    ['n2', 'host2'],
  ]);
  // slot 1 ran on host2, failed its health check, was replaced on host1 (which sorts first by name)
  const rows = sortTaskRows([
    taskRow(
      task({
        id: 'first',
        nodeId: 'n2',
        createdAtMs: T0 - 30_000,
        state: TaskState.FAILED,
        err: 'task: non-zero exit (137)',
        desiredState: TaskState.SHUTDOWN,
        at: T0 - 20_000,
      }),
      hostnames,
    ),
    taskRow(
      task({
        id: 'second',
        nodeId: 'n2',
        createdAtMs: T0 - 20_000,
        state: TaskState.FAILED,
        err: 'unhealthy',
        desiredState: TaskState.SHUTDOWN,
        at: T0 - 10_000,
      }),
      hostnames,
    ),
    taskRow(task({ id: 'current', createdAtMs: T0 - 10_000, at: T0 - 9000 }), hostnames),
    taskRow(task({ id: 'other', slot: 2, createdAtMs: T0 - 40_000 }), hostnames),
    taskRow(task({ id: 'api', serviceId: 's2', serviceName: 'api', createdAtMs: T0 }), hostnames),
  ]);
  t.deepEqual(
    rows.map((r) => r.id),
    ['api', 'current', 'second', 'first', 'other'],
  );
  const lines = taskTable(rows, T0).split('\n');
  t.regex(lines[1] ?? '', /^api +api\.1 +\S+ +host1 +Running/);
  t.regex(lines[2] ?? '', /^current +web\.1 +\S+ +host1 +Running +Running 9 seconds ago$/);
  t.regex(lines[3] ?? '', /^second + \\_ web\.1 +\S+ +host2 +Shutdown +Failed 10 seconds ago +unhealthy$/);
  t.regex(
    lines[4] ?? '',
    /^first + \\_ web\.1 +\S+ +host2 +Shutdown +Failed 20 seconds ago +task: non-zero exit \(137\)$/,
  );
  t.regex(lines[5] ?? '', /^other +web\.2 +\S+ +host1 /);
  // a global service: grouped by node, history under each node's newest task
  const global = sortTaskRows([
    taskRow(task({ id: 'g-old', slot: 0, createdAtMs: T0 - 5000 }), hostnames),
    taskRow(task({ id: 'g2', slot: 0, nodeId: 'n2', createdAtMs: T0 - 1000 }), hostnames),
    taskRow(task({ id: 'g-new', slot: 0, createdAtMs: T0 }), hostnames),
  ]);
  t.deepEqual(
    global.map((r) => r.id),
    ['g-new', 'g-old', 'g2'],
  );
  const globalLines = taskTable(global, T0).split('\n');
  t.regex(globalLines[2] ?? '', new RegExp(`^g-old + \\\\_ web\\.${node.id.slice(0, 12)} +\\S+ +host1 `));
  t.regex(globalLines[3] ?? '', /^g2 +web\.n2 +\S+ +host2 /);
});

test('taskRow: addresses', (t) => {
  const base = task({});
  const running = task({
    status: {
      ...base.status!,
      addresses: [
        { network: 'backend', ip: '10.50.0.5' },
        { network: 'default', ip: '10.42.3.2' },
      ],
    },
  });
  t.deepEqual(taskRow(running, new Map()).addresses, [
    { network: 'backend', ip: '10.50.0.5' },
    { network: 'default', ip: '10.42.3.2' },
  ]);
  t.deepEqual(taskRow(base, new Map()).addresses, []);
  t.deepEqual(taskRow({ ...base, status: undefined }, new Map()).addresses, []);
});

test('service ps options', (t) => {
  t.like(parseAs(servicePs, ['service', 'ps', 'web', '--format', 'json']), { refs: ['web'], format: 'json' });
  t.deepEqual(parseAs(servicePs, ['service', 'ps', 'web']).filter, { desiredStates: [] });
  t.is(usageError(['service', 'ps']), 'service ps requires at least one SERVICE');
});

test('service ps --filter desired-state', (t) => {
  const states = (...f: string[]): TaskState[] =>
    parseAs(servicePs, ['service', 'ps', ...f, 'web']).filter.desiredStates;
  t.deepEqual(states('--filter', 'desired-state=running'), [TaskState.RUNNING]);
  t.deepEqual(states('-f', 'desired-state=shutdown'), [TaskState.SHUTDOWN, TaskState.REMOVE]);
  t.deepEqual(states('-f', 'desired-state=accepted'), [TaskState.ACCEPTED]);
  t.deepEqual(states('-f', 'desired-state=running', '-f', 'desired-state=running', '--filter=desired-state=shutdown'), [
    TaskState.RUNNING,
    TaskState.SHUTDOWN,
    TaskState.REMOVE,
  ]);
  const msg = (f: string): string => usageError(['service', 'ps', '-f', f, 'web']);
  t.is(msg('desired-state'), 'invalid --filter "desired-state": expected KEY=VALUE');
  t.is(msg('node=host1'), 'invalid --filter "node=host1": unknown filter "node" (expected desired-state)');
  t.is(
    msg('desired-state=failed'),
    'invalid --filter "desired-state=failed": desired-state must be running, shutdown or accepted',
  );
});

// ------------------------------------------------------------------ through shoal

test('service ps: JSON rows and table, NODE is the hostname, empty while unassigned', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
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
  t.regex(tableLines[0] ?? '', /^ID +NAME +IMAGE +NODE +DESIRED STATE +CURRENT STATE +ERROR$/);
  t.regex(
    tableLines[1] ?? '',
    /^task1 +web\.1 +busybox +host1 +Running +Running (Less than a second|\d+ seconds?) ago$/,
  );
  t.regex(tableLines[2] ?? '', /^task2 +web\.2 +busybox {2,}Running +Pending .* ago +no suitable node$/);

  const missing = await shoal(['service', 'ps', 'nope'], host);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'shoal: service "nope" not found\n');
});

test('service ps: slot history (newest first, older as \\_), errors of failed tasks, --filter desired-state', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
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
  t.regex(tableLines[1] ?? '', /^t-current +web\.1 +\S+ +host1 +Running +Running \d+ seconds ago$/);
  t.regex(tableLines[2] ?? '', /^t-unhealthy + \\_ web\.1 +\S+ +host2 +Shutdown +Failed \d+ seconds ago +unhealthy$/);
  t.regex(
    tableLines[3] ?? '',
    /^t-oldest + \\_ web\.1 +\S+ +host1 +Shutdown +Failed \d+ seconds ago +task: non-zero exit \(137\)$/,
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

test('imageColumn: the digest cut to 12 hex digits, whole with --no-trunc; a tag alone as it is', (t) => {
  const digest = `sha256:${'4b6f1c2a8e0d'}${'a'.repeat(52)}`;
  t.is(imageColumn(`busybox:latest@${digest}`, false), 'busybox:latest@sha256:4b6f1c2a8e0d');
  t.is(imageColumn(`busybox:latest@${digest}`, true), `busybox:latest@${digest}`);
  t.is(imageColumn('10.213.0.1:5000/shoal/busybox:latest', false), '10.213.0.1:5000/shoal/busybox:latest');
});
