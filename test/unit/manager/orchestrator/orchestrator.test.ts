import test from 'ava';
import { Availability, NodeStatus, RestartCondition, ServiceMode } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { TASK_HISTORY_PER_SLOT } from '../../../../manager/orchestrator/slots.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const three = () => [makeNode('host1'), makeNode('host2'), makeNode('host3')];

function running(core: Core, name: string): number {
  return core.live(name).filter((t) => t.status?.state === TaskState.RUNNING).length;
}

function alive(core: Core, name: string): number {
  return core.tasksOf(name).filter((t) => (t.status?.state ?? 0) < TaskState.COMPLETE).length;
}

test('scale up and down: 6 -> 9 -> 2', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 6 }) });
  core.settle();
  core.agentsReport();
  t.is(running(core, 'web'), 6);
  await core.api.scaleService({ ref: 'web', replicas: 9 });
  core.settle();
  core.agentsReport();
  t.deepEqual(core.spread('web'), { host1: 3, host2: 3, host3: 3 });
  await core.api.scaleService({ ref: 'web', replicas: 2 });
  core.settle();
  t.is(core.live('web').length, 2, 'only 2 tasks stay desired running');
  core.agentsReport();
  t.is(alive(core, 'web'), 2);
  t.deepEqual(
    core
      .live('web')
      .map((x) => x.slot)
      .sort(),
    [1, 2],
  );
  // Slots above the count are forgotten once their tasks ended.
  t.true(core.tasksOf('web').every((x) => x.slot <= 2));
  await core.close();
});

test('drain moves tasks off the node and keeps the count', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 6 }) });
  core.settle();
  core.agentsReport();
  await core.api.updateNode({ ref: 'host1', availability: Availability.DRAIN, labelAdd: {}, labelRm: [] });
  core.settle();
  core.agentsReport();
  t.deepEqual(core.spread('web'), { host2: 3, host3: 3 });
  t.is(running(core, 'web'), 6);
  t.is(
    core.tasksOf('web').filter((x) => x.nodeId === 'id-host1' && (x.status?.state ?? 0) < TaskState.COMPLETE).length,
    0,
  );
  await core.close();
});

test('global service: one task per eligible node, follows nodes', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('agent', { mode: ServiceMode.GLOBAL, replicas: 0 }) });
  core.settle();
  core.agentsReport();
  t.deepEqual(core.spread('agent'), { host1: 1, host2: 1, host3: 1 });
  core.state.putNode(makeNode('host4'));
  core.settle();
  core.agentsReport();
  t.deepEqual(core.spread('agent'), { host1: 1, host2: 1, host3: 1, host4: 1 });
  await core.api.updateNode({ ref: 'host2', availability: Availability.DRAIN, labelAdd: {}, labelRm: [] });
  core.settle();
  core.agentsReport();
  t.deepEqual(core.spread('agent'), { host1: 1, host3: 1, host4: 1 });
  await core.close();
});

test('global service with a constraint', async (t) => {
  const core = new Core([
    makeNode('host1', { labels: { gpu: 'yes' } }),
    makeNode('host2'),
    makeNode('host3', { labels: { gpu: 'yes' } }),
  ]);
  await core.api.createService({
    spec: makeSpec('g', { mode: ServiceMode.GLOBAL, constraints: ['node.labels.gpu==yes'] }),
  });
  core.settle();
  t.deepEqual(core.spread('g'), { host1: 1, host3: 1 });
});

test('service removal stops and then forgets every task', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 3 }) });
  core.settle();
  core.agentsReport();
  await core.api.removeService({ ref: 'web' });
  core.settle();
  const tasks = [...core.state.tasks.values()];
  t.is(tasks.length, 3);
  t.true(tasks.every((x) => x.desiredState === TaskState.REMOVE));
  core.agentsReport();
  t.is(core.state.tasks.size, 0);
  await core.close();
});

test('a failed task is replaced after the restart delay, history is kept per slot', async (t) => {
  const core = new Core(three());
  await core.api.createService({
    spec: makeSpec('web', {
      replicas: 1,
      restart: { condition: RestartCondition.ANY, delayMs: 500, maxAttempts: 0, windowMs: 0 },
    }),
  });
  core.settle();
  core.agentsReport();
  for (let i = 0; i < 8; i++) {
    const cur = core.live('web')[0]!;
    core.report(cur.id, TaskState.FAILED, { exitCode: 137, err: 'task: non-zero exit (137)' });
    core.settle();
    t.is(core.live('web').length, 0, 'no replacement before the delay');
    core.clock += 500;
    core.loop.orchestrator.markAll();
    core.settle();
    t.is(core.live('web').length, 1, 'replacement after the delay');
    core.agentsReport();
  }
  t.is(core.tasksOf('web').length, TASK_HISTORY_PER_SLOT);
  await core.close();
});

test('restart condition none and on-failure', async (t) => {
  const core = new Core(three());
  const policy = (condition: RestartCondition) => ({ condition, delayMs: 0, maxAttempts: 0, windowMs: 0 });
  await core.api.createService({ spec: makeSpec('once', { restart: policy(RestartCondition.NONE) }) });
  await core.api.createService({ spec: makeSpec('job', { restart: policy(RestartCondition.ON_FAILURE) }) });
  core.settle();
  core.agentsReport();
  core.report(core.live('once')[0]!.id, TaskState.FAILED, { exitCode: 1 });
  core.report(core.live('job')[0]!.id, TaskState.FAILED, { exitCode: 1 });
  core.settle();
  t.is(core.live('once').length, 0);
  t.is(core.live('job').length, 1, 'on-failure restarts a failed task');
  core.agentsReport();
  core.report(core.live('job')[0]!.id, TaskState.COMPLETE, { exitCode: 0 });
  core.settle();
  t.is(core.live('job').length, 0, 'on-failure does not restart a completed task');
  await core.close();
});

test('max attempts bounds restarts, beyond the kept history', async (t) => {
  const core = new Core(three());
  await core.api.createService({
    spec: makeSpec('flaky', { restart: { condition: RestartCondition.ANY, delayMs: 0, maxAttempts: 7, windowMs: 0 } }),
  });
  core.settle();
  let started = 0;
  for (let i = 0; i < 12; i++) {
    core.agentsReport();
    const cur = core.live('flaky')[0];
    if (!cur) break;
    started++;
    core.report(cur.id, TaskState.FAILED, { exitCode: 1 });
    core.settle();
  }
  t.is(started, 8, 'first run plus 7 restarts');
  t.is(core.tasksOf('flaky').length, 5, 'history stays bounded');
  await core.close();
});

test('restart window: only restarts within the window count', async (t) => {
  const core = new Core(three());
  await core.api.createService({
    spec: makeSpec('w', { restart: { condition: RestartCondition.ANY, delayMs: 0, maxAttempts: 2, windowMs: 10_000 } }),
  });
  core.settle();
  const failOnce = () => {
    core.agentsReport();
    const cur = core.live('w')[0];
    if (!cur) return false;
    core.report(cur.id, TaskState.FAILED, { exitCode: 1 });
    core.settle();
    return true;
  };
  t.true(failOnce()); // restart 1
  t.true(failOnce()); // restart 2
  t.true(failOnce()); // a third within the window: refused
  t.is(core.live('w').length, 0);
  // Far apart, failures never exhaust the window.
  const c2 = new Core(three());
  await c2.api.createService({
    spec: makeSpec('w', { restart: { condition: RestartCondition.ANY, delayMs: 0, maxAttempts: 2, windowMs: 10_000 } }),
  });
  c2.settle();
  for (let i = 0; i < 6; i++) {
    c2.agentsReport();
    const cur = c2.live('w')[0]!;
    c2.report(cur.id, TaskState.FAILED, { exitCode: 1 });
    c2.settle();
    t.is(c2.live('w').length, 1, `restart ${i + 1}`);
    c2.clock += 20_000;
  }
  await core.close();
  await c2.close();
});

test('rejected create leaves the cluster unchanged', async (t) => {
  const core = new Core(three());
  await t.throwsAsync(core.api.createService({ spec: makeSpec('bad', { constraints: ['nonsense'] }) }), {
    message: 'invalid constraint "nonsense": expected KEY==VALUE or KEY!=VALUE',
  });
  await t.throwsAsync(core.api.createService({ spec: makeSpec('bad', { image: '' }) }), {
    message: 'service image is required',
  });
  await core.api.createService({ spec: makeSpec('web') });
  await t.throwsAsync(core.api.createService({ spec: makeSpec('web') }), { message: 'service "web" already exists' });
  await t.throwsAsync(core.api.scaleService({ ref: 'nosuch', replicas: 3 }), { message: 'service "nosuch" not found' });
  t.is(core.state.services.size, 1);
  await core.close();
});

test('the state survives a manager restart through the store', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 3 }) });
  core.settle();
  await core.writer.sync();
  const snap = await core.store.load();
  t.is(snap.services.length, 1);
  t.is(snap.tasks.length, 3);
  t.is(snap.nodes.length, 3);
  t.true(snap.tasks.every((x) => x.status?.state === TaskState.ASSIGNED));
  await core.close();
});

test('a down node: replicated tasks move, global ones wait; on return the stale ones stop', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 6 }) });
  await core.api.createService({ spec: makeSpec('g', { mode: ServiceMode.GLOBAL }) });
  core.settle();
  core.agentsReport();
  const host1 = core.state.nodes.get('id-host1')!;
  core.state.putNode({ ...host1, status: NodeStatus.DOWN });
  core.settle();
  // The scheduler places the replacements on the other nodes at once (no restart delay).
  t.deepEqual(core.spread('web'), { host2: 3, host3: 3 });
  t.deepEqual(core.spread('g'), { host1: 1, host2: 1, host3: 1 }, 'global task stays with its node');
  // The agents of host2/host3 start the replacements; host1's two still run (partitioned).
  for (const task of core.state.tasks.values()) {
    if (
      task.nodeId !== 'id-host1' &&
      task.desiredState === TaskState.RUNNING &&
      task.status?.state === TaskState.ASSIGNED
    )
      core.report(task.id, TaskState.RUNNING);
  }
  core.settle();
  t.is(running(core, 'web'), 6);
  // host1 comes back: its agent stops what it was told to stop.
  core.state.putNode({ ...host1, status: NodeStatus.READY });
  core.settle();
  core.agentsReport();
  t.is(alive(core, 'web'), 6);
  t.is(
    core.tasksOf('web').filter((x) => x.nodeId === 'id-host1' && (x.status?.state ?? 0) < TaskState.COMPLETE).length,
    0,
  );
  await core.close();
});

test('progress reports (ASSIGNED -> RUNNING) leave the orchestrator idle; an ended task wakes it', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 6 }) });
  core.settle();
  t.false(core.loop.orchestrator.hasWork);
  const [first, ...rest] = core.live('web');
  for (const task of [first!, ...rest]) core.report(task.id, TaskState.STARTING);
  for (const task of rest) core.report(task.id, TaskState.RUNNING);
  t.false(core.loop.orchestrator.hasWork, 'no service to reconcile for progress alone');
  core.report(first!.id, TaskState.FAILED, { exitCode: 1 });
  t.true(core.loop.orchestrator.hasWork, 'a task that ended is reconciled (restart policy)');
  core.settle();
  t.is(
    core.state.tasks.get(first!.id)?.desiredState,
    TaskState.SHUTDOWN,
    'retired: its slot waits for the restart delay',
  );
  await core.close();
});

test('a task that ends reconciles its slot, not its whole service; a node going down, the slots on it', async (t) => {
  const core = new Core(three());
  await core.api.createService({ spec: makeSpec('web', { replicas: 300 }) });
  core.settle();
  core.agentsReport();
  const state = core.state;
  const victim = core.live('web')[0]!;
  const whole: string[] = [];
  const original = state.tasksOfService.bind(state);
  state.tasksOfService = (id: string) => {
    whole.push(id);
    return original(id);
  };
  core.report(victim.id, TaskState.FAILED, { exitCode: 1 });
  t.is(core.loop.orchestrator.run(), 1, 'one slot');
  t.deepEqual(whole, [], 'the service was not reconciled whole');
  t.is(state.tasks.get(victim.id)?.desiredState, TaskState.SHUTDOWN);
  core.loop.orchestrator.run(); // the retirement itself touched the slot once more

  const node = state.nodes.get('id-host2')!;
  const onIt = new Set(state.tasksOnNode(node.id).map((x) => x.slot)).size;
  state.putNode({ ...node, status: NodeStatus.DOWN });
  t.is(core.loop.orchestrator.run(), onIt, 'the slots of the tasks on the down node');
  t.deepEqual(whole, []);
  state.tasksOfService = original;
  core.settle();
  core.agentsReport();
  t.is(running(core, 'web'), 299, 'all but the failed one (its restart delay) run again, on the other nodes');
  await core.close();
});

test('a bounded run creates about its limit of tasks; the other slots follow in the next runs', async (t) => {
  const core = new Core(three());
  core.settle();
  core.loop.disable();
  await core.api.createService({ spec: makeSpec('web', { replicas: 10 }) });
  core.loop.orchestrator.run(4);
  t.deepEqual(
    core
      .live('web')
      .map((x) => x.slot)
      .sort((a, b) => a - b),
    [1, 2, 3, 4],
  );
  t.true(core.loop.orchestrator.hasWork, 'slots 5..10 left for later');
  core.loop.orchestrator.run(4);
  t.is(core.live('web').length, 8);
  core.loop.orchestrator.run(4);
  t.deepEqual(
    core
      .live('web')
      .map((x) => x.slot)
      .sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
  core.loop.orchestrator.run(4);
  t.false(core.loop.orchestrator.hasWork);
  t.is(core.live('web').length, 10, 'no slot got two tasks');
  await core.close();
});
