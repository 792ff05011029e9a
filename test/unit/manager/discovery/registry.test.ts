// The leader's endpoint registry on a memory store (etcd semantics: revisions, leases
// that delete their keys, a keepalive stream): which tasks are registered, when they
// leave, and what a node going down or a lease expiring does.
import test from 'ava';
import { Endpoint, NodeStatus, PublishMode } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { EndpointRegistry } from '../../../../manager/discovery/registry.js';
import { endpointKey } from '../../../../manager/discovery/view.js';
import { until } from '../../../helpers/until.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const HEALTH = { test: ['CMD-SHELL', 'true'], intervalMs: 1000, timeoutMs: 1000, retries: 1, startPeriodMs: 0 };

async function setup(opts: { keepAliveMs?: number; nodes?: string[] } = {}) {
  const core = new Core(
    (opts.nodes ?? ['host1', 'host2']).map((h, i) => ({
      ...makeNode(h),
      description: { ...makeNode(h).description!, address: `10.0.0.${11 + i}` },
    })),
  );
  const logs: string[] = [];
  const registry = new EndpointRegistry(core.state, core.writer, core.store, {
    keepAliveMs: opts.keepAliveMs ?? 50,
    log: (l) => logs.push(l),
  });
  await registry.start();
  const keyOf = (serviceName: string, taskId: string) => endpointKey(serviceName, taskId);
  const stored = (serviceName: string): Endpoint[] =>
    [...core.store.data.entries()]
      .filter(([k]) => k.startsWith(`/shoal/v1/endpoints/${serviceName}/`))
      .map(([, v]) => Endpoint.fromJSON(JSON.parse(v)));
  const run = (taskId: string, ip: string) =>
    core.report(taskId, TaskState.RUNNING, { addresses: [{ network: 'shoal', ip }] });
  const close = async () => {
    await registry.close();
    await core.close();
  };
  return { core, registry, logs, keyOf, stored, run, close };
}

test('a task is registered once RUNNING with an address, and leaves on FAILED', async (t) => {
  const { core, stored, run, keyOf, close } = await setup();
  await core.api.createService({
    spec: makeSpec('web', {
      replicas: 1,
      ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }],
    }),
  });
  core.settle();
  const task = core.live('web')[0]!;
  core.report(task.id, TaskState.STARTING);
  await core.writer.sync();
  t.deepEqual(stored('web'), [], 'not while STARTING');
  core.report(task.id, TaskState.RUNNING); // no address yet
  await core.writer.sync();
  t.deepEqual(stored('web'), [], 'not without an address');
  run(task.id, '10.42.0.5');
  await until(() => stored('web').length === 1, 'registered');
  const ep = stored('web')[0]!;
  t.is(ep.taskId, task.id);
  t.is(ep.serviceName, 'web');
  t.is(ep.nodeName, core.state.nodes.get(task.nodeId)!.description!.hostname);
  t.is(ep.nodeAddress, core.state.nodes.get(task.nodeId)!.description!.address);
  t.deepEqual(ep.addresses, [{ network: 'shoal', ip: '10.42.0.5' }]);
  t.is(ep.ports[0]!.publishedPort, 8080);
  t.false(ep.healthChecked);
  t.true(ep.registeredAtMs > 0);
  t.true(
    core.store.keysOfLease(core.store.leases.keys().next().value!).includes(keyOf('web', task.id)),
    'bound to the node lease',
  );

  core.report(task.id, TaskState.FAILED, {
    err: 'exit 1',
    exitCode: 1,
    addresses: [{ network: 'shoal', ip: '10.42.0.5' }],
  });
  await until(() => stored('web').length === 0, 'deregistered');
  t.pass();
  await close();
});

test('a task desired to stop leaves at once, before its container stops', async (t) => {
  const { core, stored, run, close } = await setup();
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  core.settle();
  const [a, b] = core.live('web');
  run(a!.id, '10.42.0.5');
  run(b!.id, '10.42.1.5');
  await until(() => stored('web').length === 2);
  await core.api.scaleService({ ref: 'web', replicas: 1 });
  core.settle(); // the orchestrator sets desired SHUTDOWN on slot 2; the agent has not stopped it yet
  const stopping = core.tasksOf('web').find((x) => x.desiredState === TaskState.SHUTDOWN)!;
  t.is(stopping.status?.state, TaskState.RUNNING);
  await until(() => stored('web').length === 1);
  t.not(stored('web')[0]!.taskId, stopping.id);
  await close();
});

test('a health-checked task is registered only once RUNNING (healthy), with health_checked', async (t) => {
  const { core, registry, stored, run, close } = await setup();
  await core.api.createService({ spec: makeSpec('api', { replicas: 1, health: HEALTH }) });
  core.settle();
  const task = core.live('api')[0]!;
  core.report(task.id, TaskState.STARTING, { addresses: [{ network: 'shoal', ip: '10.42.0.7' }] }); // waiting for the health check
  await core.writer.sync();
  t.is(registry.size, 0, 'not registered (the registry decides on the change itself)');
  t.is(registry.leaseOf(task.nodeId), undefined, 'not even a lease asked for');
  t.deepEqual(stored('api'), []);
  run(task.id, '10.42.0.7');
  await until(() => stored('api').length === 1);
  t.true(stored('api')[0]!.healthChecked);
  // unhealthy: the agent reports err "unhealthy" while still RUNNING (before its stop grace
  // period), which leaves discovery at once; then FAILED once stopped.
  core.report(task.id, TaskState.RUNNING, { err: 'unhealthy', addresses: [{ network: 'shoal', ip: '10.42.0.7' }] });
  await until(() => stored('api').length === 0);
  core.report(task.id, TaskState.FAILED, { err: 'unhealthy', exitCode: 137 });
  await core.writer.sync();
  t.deepEqual(stored('api'), []);
  await close();
});

test('a node going down revokes its lease: its endpoints vanish at once; back up, they return on a new lease', async (t) => {
  const { core, registry, stored, run, close } = await setup();
  await core.api.createService({ spec: makeSpec('web', { replicas: 4 }) });
  core.settle();
  core.live('web').forEach((x, i) => run(x.id, `10.42.0.${10 + i}`));
  await until(() => stored('web').length === 4);
  const onHost1 = core.live('web').filter((x) => x.nodeId === 'id-host1');
  t.true(onHost1.length > 0);
  const lease1 = registry.leaseOf('id-host1')!;
  t.truthy(lease1);
  t.is(core.store.keysOfLease(lease1).length, onHost1.length);

  const node = core.state.nodes.get('id-host1')!;
  const commitsBefore = core.store.commits;
  core.state.putNode({ ...node, status: NodeStatus.DOWN });
  await until(() => stored('web').length === 4 - onHost1.length, 'host1 endpoints gone');
  t.false(core.store.leases.has(lease1), 'the lease was revoked');
  t.true(stored('web').every((e) => e.nodeId !== 'id-host1'));
  t.true(core.store.commits - commitsBefore <= 2, 'no delete per endpoint');

  // Back up (the agent reconnected); tasks still desired to run come back.
  core.state.putNode({ ...node, status: NodeStatus.READY });
  const stillRunning = core
    .tasksOf('web')
    .filter(
      (x) => x.nodeId === 'id-host1' && x.desiredState === TaskState.RUNNING && x.status?.state === TaskState.RUNNING,
    );
  await until(
    () => stored('web').filter((e) => e.nodeId === 'id-host1').length === stillRunning.length,
    'host1 endpoints back',
  );
  if (stillRunning.length > 0) t.not(registry.leaseOf('id-host1'), lease1);
  await close();
});

test('a removed node revokes its lease too', async (t) => {
  const { core, stored, run, registry, close } = await setup({ nodes: ['host1'] });
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  core.settle();
  core.live('web').forEach((x, i) => run(x.id, `10.42.0.${10 + i}`));
  await until(() => stored('web').length === 2);
  const lease = registry.leaseOf('id-host1')!;
  await core.api.removeNode({ ref: 'host1', force: true });
  await until(() => stored('web').length === 0);
  t.false(core.store.leases.has(lease));
  await close();
});

test('one keepalive stream renews every node lease; a lease etcd lost is replaced and the endpoints written again', async (t) => {
  const { core, registry, stored, run, logs, close } = await setup({ keepAliveMs: 20 });
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  core.settle();
  core.live('web').forEach((x, i) => run(x.id, `10.42.0.${10 + i}`));
  await until(() => stored('web').length === 2);
  const l1 = registry.leaseOf('id-host1')!;
  const l2 = registry.leaseOf('id-host2')!;
  await until(
    () => (core.store.keepalives.get(l1) ?? 0) >= 2 && (core.store.keepalives.get(l2) ?? 0) >= 2,
    'keepalives',
  );
  // The lease expires behind our back (e.g. etcd was away longer than the TTL).
  core.store.expireLease(l1);
  t.is(stored('web').length, 1);
  await until(() => stored('web').length === 2, 're-registered');
  t.not(registry.leaseOf('id-host1'), l1);
  t.true(logs.some((l) => l.includes(`lease ${l1}`)));
  // A broken stream is reopened.
  core.store.breakKeepAliveStreams();
  const n = core.store.keepalives.get(l2) ?? 0;
  await until(() => (core.store.keepalives.get(l2) ?? 0) > n + 1, 'renewals after the stream broke');
  await close();
});

test('a put refused for a lost lease becomes a delete and the node gets a new lease', async (t) => {
  const { core, registry, stored, run, close } = await setup({ keepAliveMs: 60_000 });
  await core.api.createService({ spec: makeSpec('web', { replicas: 1 }) });
  core.settle();
  const task = core.live('web')[0]!;
  run(task.id, '10.42.0.5');
  await until(() => stored('web').length === 1);
  const lease = registry.leaseOf(task.nodeId)!;
  core.store.expireLease(lease); // no keepalive will notice for a minute
  // The next write of that endpoint names the lost lease.
  run(task.id, '10.42.0.6');
  await until(
    () => stored('web').length === 1 && stored('web')[0]!.addresses[0]!.ip === '10.42.0.6',
    'written again on a new lease',
  );
  t.not(registry.leaseOf(task.nodeId), lease);
  await close();
});

test('a new term reconciles: re-puts what should exist on its own leases (keeping registered_at), deletes the rest', async (t) => {
  const { core, registry, stored, run, keyOf, close } = await setup();
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  core.settle();
  core.live('web').forEach((x, i) => run(x.id, `10.42.0.${10 + i}`));
  await until(() => stored('web').length === 2);
  const firstAt = new Map(stored('web').map((e) => [e.taskId, e.registeredAtMs]));
  const oldLeases = [registry.leaseOf('id-host1'), registry.leaseOf('id-host2')];
  await registry.close(); // deposed: leases are not revoked
  // A stale key the old leader left behind (its task is gone).
  core.store.data.set(
    keyOf('web', 'gone-task'),
    JSON.stringify(Endpoint.toJSON({ ...stored('web')[0]!, taskId: 'gone-task' })),
  );
  await core.writer.sync();

  const next = new EndpointRegistry(core.state, core.writer, core.store, {
    keepAliveMs: 50,
    now: () => Date.now() + 60_000,
  });
  await next.start();
  await core.writer.sync();
  t.deepEqual(
    stored('web')
      .map((e) => e.taskId)
      .sort(),
    core
      .live('web')
      .map((x) => x.id)
      .sort(),
  );
  for (const e of stored('web'))
    t.is(e.registeredAtMs, firstAt.get(e.taskId) ?? -1, 'registered_at kept across leaders');
  const newLeases = [next.leaseOf('id-host1'), next.leaseOf('id-host2')];
  t.true(newLeases.every((l) => l && !oldLeases.includes(l)));
  for (const l of oldLeases) t.is(core.store.keysOfLease(l!).length, 0, 'nothing left on the old leases');
  await next.close();
  await close();
});

test('work per task change does not grow with the cluster (no full scans)', async (t) => {
  const { core, registry, stored, close } = await setup({ nodes: ['h1', 'h2', 'h3', 'h4'] });
  await core.api.createService({ spec: makeSpec('big', { replicas: 2000 }) });
  core.settle();
  const tasks = core.live('big');
  await core.writer.sync();
  const commitsBefore = core.store.commits;
  const started = process.hrtime.bigint();
  tasks.forEach((x, i) =>
    core.report(x.id, TaskState.RUNNING, { addresses: [{ network: 'shoal', ip: `10.42.${i >> 8}.${i & 255}` }] }),
  );
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  await until(() => stored('big').length === 2000, '2000 registered');
  t.is(registry.size, 2000);
  t.log(`measured: 2000 registrations in ${ms.toFixed(0)} ms (state updates included)`);
  // 2000 task updates + 2000 endpoint puts, in transactions of up to 128 operations.
  const commits = core.store.commits - commitsBefore;
  t.true(commits <= Math.ceil(4000 / 128) + 4, `${commits} commits`);
  await close();
});

test('puts still queued when the node goes down become deletes: nothing names the revoked lease', async (t) => {
  const { core, registry, stored, run, close } = await setup({ nodes: ['host1'] });
  await core.api.createService({ spec: makeSpec('web', { replicas: 3 }) });
  core.settle();
  const [a, b, c] = core.live('web');
  run(a!.id, '10.42.0.2');
  await until(() => stored('web').length === 1);
  const lease = registry.leaseOf('id-host1')!;
  const errors: string[] = [];
  core.writer.onError = (e) => errors.push(e.message);
  const putIds: string[] = [];
  const commit = core.store.commit.bind(core.store);
  core.store.commit = async (ops) => {
    for (const op of ops) if (op.kind === 'endpoints' && op.value !== undefined) putIds.push(op.id);
    await commit(ops);
  };
  // In one tick: two more endpoints queued on the lease, then the node goes down.
  run(b!.id, '10.42.0.3');
  run(c!.id, '10.42.0.4');
  core.state.putNode({ ...core.state.nodes.get('id-host1')!, status: NodeStatus.DOWN });
  await until(() => !core.store.leases.has(lease), 'revoked');
  await core.writer.sync();
  t.deepEqual(stored('web'), []);
  t.deepEqual(errors, [], 'no commit failed on the revoked lease');
  t.deepEqual(putIds, [], 'the queued puts were never written (no flicker)');
  await close();
});
