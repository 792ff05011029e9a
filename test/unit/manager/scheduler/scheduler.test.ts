import test from 'ava';
import { Availability, NodeStatus } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { Core, GiB, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const three = () => [makeNode('host1'), makeNode('host2'), makeNode('host3')];

test('spread: 6 replicas over 3 nodes land 2/2/2', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 6 }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 2, host2: 2, host3: 2 });
  for (const task of core.live('web')) t.is(task.status?.state, TaskState.ASSIGNED);
});

test('spread breaks ties on fewest tasks overall', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('a', { replicas: 2 }) }); // host1, host2
  core.settle();
  await core.api.createService({ spec: makeSpec('b', { replicas: 1 }) });
  core.settle();
  t.deepEqual(core.spread('b'), { host3: 1 });
});

test('constraint node.hostname==host2 puts every replica on host2', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 4, constraints: ['node.hostname==host2'] }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host2: 4 });
});

test('!= constraint and labels', async (t) => {
  const core = new Core([
    makeNode('host1', { labels: { zone: 'a' } }),
    makeNode('host2', { labels: { zone: 'b' } }),
    makeNode('host3', { labels: { zone: 'b' } }),
  ]);
  await core.api.createService({ spec: makeSpec('web', { replicas: 4, constraints: ['node.labels.zone!=a'] }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host2: 2, host3: 2 });
});

test('impossible constraint: pending with the reason per filter', async (t) => {
  const core = new Core([
    makeNode('host1'),
    makeNode('host2', { status: NodeStatus.DOWN }),
    makeNode('host3', { availability: Availability.DRAIN }),
  ]);
  await core.api.createService({ spec: makeSpec('web', { replicas: 2, constraints: ['node.labels.zone==nowhere'] }) });
  core.settle();
  const tasks = core.live('web');
  t.is(tasks.length, 2);
  for (const task of tasks) {
    t.is(task.status?.state, TaskState.PENDING);
    t.is(task.nodeId, '');
    t.is(
      task.status?.err,
      'no suitable node (1 node: constraint; 1 node: node not active (paused or drained); 1 node: node not ready)',
    );
  }
});

test('memory reservations count what is already reserved', async (t) => {
  const core = new Core([makeNode('host1', { memory: 1 * GiB }), makeNode('host2', { memory: 1 * GiB })]);
  await core.api.createService({
    spec: makeSpec('big', { replicas: 5, reservations: { nanoCpus: 0, memoryBytes: 0.4 * GiB } }),
  });
  core.settle();
  // 2 fit per node (0.8 GiB), the fifth does not.
  t.deepEqual(core.spread('big'), { host1: 2, host2: 2 });
  const pending = core.live('big').filter((x) => x.status?.state === TaskState.PENDING);
  t.is(pending.length, 1);
  t.is(pending[0]!.status?.err, 'no suitable node (2 nodes: insufficient memory)');
});

test('cpu reservations', async (t) => {
  const core = new Core([makeNode('host1', { cpus: 1 })]);
  await core.api.createService({
    spec: makeSpec('cpu', { replicas: 3, reservations: { nanoCpus: 0.5e9, memoryBytes: 0 } }),
  });
  core.settle();
  t.is(core.live('cpu').filter((x) => x.status?.state === TaskState.ASSIGNED).length, 2);
  t.regex(core.live('cpu').find((x) => x.status?.state === TaskState.PENDING)!.status!.err, /1 node: insufficient cpu/);
});

test('host port conflicts keep a second task off the node', async (t) => {
  const core = new Core([makeNode('host1'), makeNode('host2')]);
  const ports = [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: 1 }];
  await core.api.createService({ spec: makeSpec('web', { replicas: 3, ports }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host1: 1, host2: 1 });
  t.regex(
    core.live('web').find((x) => x.status?.state === TaskState.PENDING)!.status!.err,
    /2 nodes: host port in use/,
  );
});

test('pending tasks are retried when a node joins or resources free up', async (t) => {
  const core = new Core([makeNode('host1', { memory: 1 * GiB })]);
  await core.api.createService({
    spec: makeSpec('big', { replicas: 2, reservations: { nanoCpus: 0, memoryBytes: 0.8 * GiB } }),
  });
  core.settle();
  t.is(core.live('big').filter((x) => x.status?.state === TaskState.PENDING).length, 1);
  core.state.putNode(makeNode('host2', { memory: 1 * GiB }));
  core.settle();
  t.deepEqual(core.spread('big'), { host1: 1, host2: 1 });

  // Freed resources: scale another service down and the pending one gets placed.
  const c2 = new Core([makeNode('solo', { memory: 1 * GiB })]);
  await c2.api.createService({
    spec: makeSpec('hog', { replicas: 1, reservations: { nanoCpus: 0, memoryBytes: 0.8 * GiB } }),
  });
  c2.settle();
  c2.agentsReport();
  await c2.api.createService({
    spec: makeSpec('late', { replicas: 1, reservations: { nanoCpus: 0, memoryBytes: 0.8 * GiB } }),
  });
  c2.settle();
  t.is(c2.live('late')[0]!.status?.state, TaskState.PENDING);
  await c2.api.removeService({ ref: 'hog' });
  c2.settle();
  c2.agentsReport(); // hog's task shuts down, freeing memory
  t.is(c2.live('late')[0]!.status?.state, TaskState.ASSIGNED);
  t.is(c2.live('late')[0]!.nodeId, 'id-solo');
  await core.close();
  await c2.close();
});

test('paused nodes take no new tasks', async (t) => {
  const core = new Core([makeNode('host1', { availability: Availability.PAUSE }), makeNode('host2')]);
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  core.settle();
  t.deepEqual(core.spread('web'), { host2: 2 });
});

test('a run with a limit places at most that many (lowest slots first) and leaves the rest pending for the next', async (t) => {
  const core = new Core([makeNode('host1'), makeNode('host2')]);
  core.settle(); // the nodes' network leases
  core.loop.disable();
  await core.api.createService({ spec: makeSpec('web', { replicas: 10 }) });
  core.loop.orchestrator.run();
  const r = core.loop.scheduler.run(4);
  t.is(r.assigned, 4);
  const assigned = core
    .tasksOf('web')
    .filter((x) => x.status?.state === TaskState.ASSIGNED)
    .map((x) => x.slot)
    .sort((a, b) => a - b);
  t.deepEqual(assigned, [1, 2, 3, 4]);
  t.true(core.loop.scheduler.hasWork, 'the other 6 are still to place');
  t.true(
    core
      .tasksOf('web')
      .filter((x) => x.status?.state === TaskState.PENDING)
      .every((x) => x.status?.err === ''),
    'not marked unplaceable',
  );
  t.is(core.loop.scheduler.run(100).assigned, 6);
  t.false(core.loop.scheduler.hasWork);
  await core.close();
});
