import test from 'ava';
import { AssignmentsMessage_Kind, TaskState } from '../../../proto/gen/shoal.js';
import { LABEL } from '../../../proto/naming.js';
import { ExecError } from '../../../agent/exec/errors.js';
import { DEFAULT_STOP_GRACE_MS } from '../../../agent/exec/executor.js';
import { UNHEALTHY, WAITING_FOR_HEALTH } from '../../../agent/task-runner.js';
import { Worker } from '../../../agent/worker.js';
import { FakeExecutor, STOPPED_EXIT_CODE } from '../../helpers/fake-executor.js';
import { makeTask, RecordingReporter, withDesired } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';

const FULL_RUN = ['accepted', 'preparing', 'ready', 'starting', 'running'];

async function setup(fx = new FakeExecutor()) {
  const reporter = new RecordingReporter();
  const worker = new Worker({ executor: fx, reporter, retryMinMs: 2 });
  await worker.start();
  return { fx, reporter, worker };
}

test('a task goes ACCEPTED..RUNNING, each transition reported once with the container id', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1')]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), FULL_RUN);
  const c = fx.byTask('t1');
  t.truthy(c);
  t.is(c?.status, 'running');
  t.is(reporter.last('t1')?.containerId, c?.id);
  t.is(c?.name, 'web.1.t1');
  t.is(c?.labels[LABEL.taskId], 't1');
  t.deepEqual(reporter.backwards, []);
  await worker.close();
});

test('exit 0 -> COMPLETE, non-zero -> FAILED with exit code; container kept while desired RUNNING', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('ok'), makeTask('bad', { slot: 2 })]);
  await worker.settled();
  fx.exit('ok', 0);
  fx.exit('bad', 3);
  await worker.settled();
  t.is(reporter.last('ok')?.state, TaskState.COMPLETE);
  t.is(reporter.last('ok')?.exitCode, 0);
  const bad = reporter.last('bad');
  t.is(bad?.state, TaskState.FAILED);
  t.is(bad?.err, 'task: non-zero exit (3)');
  t.is(bad?.exitCode, 3);
  t.truthy(fx.byTask('ok'), 'a terminal task with desired RUNNING keeps its container');
  t.truthy(fx.byTask('bad'));

  // The manager then shuts the failed task down: no SHUTDOWN (it is already terminal), container removed.
  worker.update([withDesired(makeTask('bad', { slot: 2 }), TaskState.SHUTDOWN, TaskState.FAILED)], []);
  await worker.settled();
  t.is(fx.byTask('bad'), undefined);
  t.deepEqual(reporter.states('bad'), [...FULL_RUN, 'failed']);
  t.deepEqual(fx.opsOf('bad'), ['create', 'start', 'remove']);
  t.deepEqual(reporter.backwards, []);
  await worker.close();
});

test('an image that cannot be pulled -> REJECTED with the error, no container', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1', { image: 'nope/missing:1' })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['accepted', 'preparing', 'rejected']);
  t.regex(reporter.last('t1')?.err ?? '', /image "nope\/missing:1": pull access denied/);
  t.is(fx.byTask('t1'), undefined);
  await worker.close();
});

test('a missing image that exists in the registry is pulled, then the task runs', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1', { image: 'registry/app:1' })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), FULL_RUN);
  t.true(fx.ops.includes('pull registry/app:1'));
  await worker.close();
});

test('an error in start (after STARTING) -> FAILED, not REJECTED', async (t) => {
  const fx = new FakeExecutor();
  fx.startError = () => new ExecError('start container: port is already allocated');
  const { reporter, worker } = await setup(fx);
  worker.assign([makeTask('t1')]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['accepted', 'preparing', 'ready', 'starting', 'failed']);
  t.regex(reporter.last('t1')?.err ?? '', /port is already allocated/);
  await worker.close();
});

test('transient engine errors are retried, not reported as failures', async (t) => {
  const fx = new FakeExecutor();
  const { reporter, worker } = await setup(fx);
  fx.unavailableCalls = 3; // the engine restarts while the task prepares
  worker.assign([makeTask('t1')]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), FULL_RUN);
  t.is(fx.unavailableCalls, 0);
  await worker.close();
});

for (const desired of [TaskState.SHUTDOWN, TaskState.REMOVE]) {
  test(`desired ${TaskState[desired]}: stop with the spec's grace period -> SHUTDOWN, then remove`, async (t) => {
    const { fx, reporter, worker } = await setup();
    const task = makeTask('t1', { spec: { stopGracePeriodMs: 2_500 } });
    worker.assign([task]);
    await worker.settled();
    const c = fx.byTask('t1');
    worker.update([withDesired(task, desired, TaskState.RUNNING)], []);
    await worker.settled();
    t.deepEqual(reporter.states('t1'), [...FULL_RUN, 'shutdown']);
    t.is(c?.stopGraceMs, 2_500);
    t.is(reporter.last('t1')?.containerId, c?.id);
    t.deepEqual(fx.opsOf('t1'), ['create', 'start', 'stop', 'remove']);
    t.is(fx.byTask('t1'), undefined);
    await worker.close();
  });
}

test('default stop grace period is 10 s', async (t) => {
  const { fx, worker } = await setup();
  const task = makeTask('t1');
  worker.assign([task]);
  await worker.settled();
  const c = fx.byTask('t1');
  worker.assign([withDesired(task, TaskState.SHUTDOWN)]);
  await worker.settled();
  t.is(c?.stopGraceMs, DEFAULT_STOP_GRACE_MS);
  t.is(DEFAULT_STOP_GRACE_MS, 10_000);
  await worker.close();
});

test('desired SHUTDOWN during a slow pull: the pull is abandoned, SHUTDOWN, no container', async (t) => {
  const fx = new FakeExecutor();
  fx.pullGate = new Promise(() => {}); // never finishes on its own
  const { reporter, worker } = await setup(fx);
  const task = makeTask('t1', { image: 'registry/app:1' });
  worker.assign([task]);
  await until(() => reporter.states('t1').includes('preparing'));
  worker.assign([withDesired(task, TaskState.SHUTDOWN)]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['accepted', 'preparing', 'shutdown']);
  t.deepEqual(fx.opsOf('t1'), []);
  t.is(fx.containers.size, 0);
  await worker.close();
});

test('a task that was never started and is shut down reports SHUTDOWN without touching the engine', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1', { desired: TaskState.SHUTDOWN })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['shutdown']);
  t.deepEqual(fx.ops, []);
  await worker.close();
});

test('COMPLETE set: tasks not in it are stopped and removed, kept tasks are not restarted', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('a', { slot: 1 }), makeTask('b', { slot: 2 })]);
  await worker.settled();
  worker.handle({
    kind: AssignmentsMessage_Kind.COMPLETE,
    tasks: [makeTask('b', { slot: 2 }), makeTask('c', { slot: 3 })],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    removedTaskIds: [],
  });
  await worker.settled();
  t.deepEqual(worker.taskIds().sort(), ['b', 'c']);
  t.deepEqual(fx.opsOf('a'), ['create', 'start', 'stop', 'remove']);
  t.deepEqual(fx.opsOf('b'), ['create', 'start']);
  t.is(fx.byTask('b')?.starts, 1);
  t.deepEqual(reporter.states('c'), FULL_RUN);
  t.deepEqual(reporter.states('a'), FULL_RUN, 'a task that left the set reports nothing more');
  t.deepEqual(reporter.forgotten, ['a']);
  t.deepEqual(reporter.states('b'), FULL_RUN, 'b is not reported again');
  await worker.close();
});

test('INCREMENTAL: new tasks start, changed tasks follow, removed ids are torn down', async (t) => {
  const { fx, reporter, worker } = await setup();
  const a = makeTask('a', { slot: 1 });
  const b = makeTask('b', { slot: 2 });
  worker.assign([a, b]);
  await worker.settled();
  worker.handle({
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [makeTask('c', { slot: 3 }), withDesired(b, TaskState.SHUTDOWN, TaskState.RUNNING)],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    removedTaskIds: ['a'],
  });
  await worker.settled();
  t.deepEqual(worker.taskIds().sort(), ['b', 'c']);
  t.is(fx.byTask('a'), undefined);
  t.is(fx.byTask('b'), undefined);
  t.deepEqual(reporter.states('b'), [...FULL_RUN, 'shutdown']);
  t.deepEqual(reporter.states('c'), FULL_RUN);
  t.is(fx.byTask('c')?.status, 'running');
  await worker.close();
});

test('a task removed from the set while it runs: stopped and removed, no report', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1')]);
  await worker.settled();
  const before = reporter.reports.length;
  worker.update([], ['t1']);
  await worker.settled();
  t.is(fx.byTask('t1'), undefined);
  t.deepEqual(fx.opsOf('t1'), ['create', 'start', 'stop', 'remove']);
  t.is(reporter.reports.length, before);
  await worker.close();
});

test('agent restart: running and exited containers are adopted, nothing is started twice', async (t) => {
  const fx = new FakeExecutor();
  const first = await setup(fx);
  const run = makeTask('run', { slot: 1 });
  const done = makeTask('done', { slot: 2 });
  const fail = makeTask('fail', { slot: 3 });
  const gone = makeTask('gone', { slot: 4, spec: { stopGracePeriodMs: 1_500 } });
  first.worker.assign([run, done, fail, gone]);
  await first.worker.settled();
  const ids = Object.fromEntries(['run', 'done', 'fail', 'gone'].map((id) => [id, fx.byTask(id)?.id]));
  await first.worker.close(); // the agent stops: containers keep running
  t.is(fx.byTask('run')?.status, 'running');
  // While the agent is away, two containers exit.
  fx.exit('done', 0);
  fx.exit('fail', 7);

  const goneContainer = fx.byTask('gone');
  const second = await setup(fx);
  // The manager's view: all four RUNNING; 'gone' is no longer assigned to this node.
  second.worker.assign([run, done, fail].map((task) => withDesired(task, TaskState.RUNNING, TaskState.RUNNING)));
  await second.worker.settled();

  t.deepEqual(second.reporter.states('run'), ['running']);
  t.is(second.reporter.last('run')?.containerId, ids.run);
  t.is(fx.byTask('run')?.starts, 1);
  t.deepEqual(second.reporter.states('done'), ['complete']);
  t.is(second.reporter.last('done')?.containerId, ids.done);
  t.deepEqual(second.reporter.states('fail'), ['failed']);
  t.is(second.reporter.last('fail')?.exitCode, 7);
  t.is(second.reporter.last('fail')?.err, 'task: non-zero exit (7)');
  t.is(fx.byTask('gone'), undefined, 'a container whose task is not in the first set is removed');
  t.deepEqual(fx.opsOf('gone'), ['create', 'start', 'stop', 'remove']);
  t.is(goneContainer?.stopGraceMs, 1_500, 'stopped with the grace period it was created with');
  t.is(fx.ops.filter((o) => o.startsWith('create')).length, 4, 'no second container');
  t.is(fx.ops.filter((o) => o.startsWith('start')).length, 4, 'nothing started twice');

  // The adopted running container still ends in the normal way.
  fx.exit('run', 0);
  await second.worker.settled();
  t.deepEqual(second.reporter.states('run'), ['running', 'complete']);
  t.deepEqual(second.reporter.backwards, []);
  await second.worker.close();
});

test('agent restart: a created-but-not-started container is started, not created again', async (t) => {
  const fx = new FakeExecutor();
  const task = makeTask('t1');
  const c = fx.seed(task, 'created');
  const { reporter, worker } = await setup(fx);
  worker.assign([withDesired(task, TaskState.RUNNING, TaskState.PREPARING)]);
  await worker.settled();
  // PREPARING (what the manager holds) is confirmed once, then the task moves on.
  t.deepEqual(reporter.states('t1'), ['preparing', 'ready', 'starting', 'running']);
  t.is(reporter.last('t1')?.containerId, c.id);
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
  await worker.close();
});

test('agent restart: a task the manager holds as terminal is never started again', async (t) => {
  const fx = new FakeExecutor();
  const { reporter, worker } = await setup(fx);
  // Its container is gone (removed by hand); the manager says FAILED, desired still RUNNING.
  worker.assign([makeTask('t1', { state: TaskState.FAILED }), makeTask('t2', { state: TaskState.COMPLETE, slot: 2 })]);
  await worker.settled();
  t.deepEqual(reporter.reports, []);
  t.deepEqual(fx.ops, []);
  await worker.close();
});

test('agent restart: a RUNNING task whose container vanished -> FAILED', async (t) => {
  const { reporter, worker } = await setup();
  worker.assign([makeTask('t1', { state: TaskState.RUNNING })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['failed']);
  t.regex(reporter.last('t1')?.err ?? '', /no such container/);
  await worker.close();
});

test('agent restart: a running container of a task desired SHUTDOWN is stopped and removed', async (t) => {
  const fx = new FakeExecutor();
  const task = makeTask('t1');
  fx.seed(task, 'running');
  const { reporter, worker } = await setup(fx);
  worker.assign([withDesired(task, TaskState.SHUTDOWN, TaskState.RUNNING)]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['shutdown']);
  t.is(fx.byTask('t1'), undefined);
  await worker.close();
});

// ---------------------------------------------------------------- health checks

const CHECK = {
  test: ['CMD-SHELL', 'test -f /tmp/ok'],
  intervalMs: 200,
  timeoutMs: 1_000,
  retries: 1,
  startPeriodMs: 0,
};

test('health check: STARTING "waiting for the health check" until healthy, then RUNNING', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1', { spec: { health: CHECK } })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['accepted', 'preparing', 'ready', 'starting', 'starting']);
  t.is(reporter.last('t1')?.message, WAITING_FOR_HEALTH);
  t.is(reporter.last('t1')?.containerId, fx.byTask('t1')?.id);
  fx.healthy('t1');
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['accepted', 'preparing', 'ready', 'starting', 'starting', 'running']);
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
  // Healthy and running: an exit still ends it the normal way.
  fx.exit('t1', 0);
  await worker.settled();
  t.is(reporter.last('t1')?.state, TaskState.COMPLETE);
  await worker.close();
});

for (const when of ['while starting', 'once running'] as const) {
  test(`unhealthy ${when}: stopped with the spec's grace, then FAILED err "unhealthy" with its exit code`, async (t) => {
    const { fx, reporter, worker } = await setup();
    worker.assign([makeTask('t1', { spec: { health: CHECK, stopGracePeriodMs: 0 } })]);
    await worker.settled();
    if (when === 'once running') {
      fx.healthy('t1');
      await worker.settled();
      t.is(reporter.last('t1')?.state, TaskState.RUNNING);
    }
    fx.unhealthy('t1', 'no /tmp/ok');
    await worker.settled();
    const last = reporter.last('t1');
    t.is(last?.state, TaskState.FAILED);
    t.is(last?.err, UNHEALTHY);
    t.is(last?.err, 'unhealthy');
    t.is(last?.exitCode, STOPPED_EXIT_CODE, 'the exit code it stopped with');
    t.regex(last?.message ?? '', /no \/tmp\/ok/);
    if (when === 'once running')
      t.deepEqual(reporter.states('t1').slice(-2), ['running', 'failed'], 'err unhealthy reported before the stop');
    t.is(fx.byTask('t1')?.status, 'exited');
    t.is(fx.byTask('t1')?.stopGraceMs, 0, 'grace period 0 means 0');
    t.deepEqual(fx.opsOf('t1'), ['create', 'start', 'stop'], 'kept (stopped) until the manager shuts the task down');
    t.deepEqual(reporter.backwards, []);

    worker.assign([withDesired(makeTask('t1', { spec: { health: CHECK } }), TaskState.SHUTDOWN, TaskState.FAILED)]);
    await worker.settled();
    t.deepEqual(fx.opsOf('t1'), ['create', 'start', 'stop', 'remove']);
    t.is(reporter.last('t1')?.state, TaskState.FAILED, 'no SHUTDOWN after FAILED');
    await worker.close();
  });
}

test('unhealthy and the container is gone by the time it is stopped: exit code -1', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1', { spec: { health: CHECK } })]);
  await worker.settled();
  const c = fx.byTask('t1');
  fx.unhealthy('t1');
  fx.containers.delete(c?.id ?? ''); // removed by hand at once
  await worker.settled();
  t.like(reporter.last('t1'), { state: TaskState.FAILED, err: 'unhealthy', exitCode: -1 });
  await worker.close();
});

test('the image\'s own health check counts; ["NONE"] in the spec disables it', async (t) => {
  const fx = new FakeExecutor();
  fx.imageHealthChecks.add('busybox:latest');
  const { reporter, worker } = await setup(fx);
  worker.assign([
    makeTask('inherits', { slot: 1 }),
    makeTask('disabled', {
      slot: 2,
      spec: { health: { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 } },
    }),
  ]);
  await worker.settled();
  t.is(reporter.last('inherits')?.state, TaskState.STARTING);
  t.is(reporter.last('disabled')?.state, TaskState.RUNNING);
  await worker.close();
});

test('desired SHUTDOWN while waiting for the health check: stopped -> SHUTDOWN, removed', async (t) => {
  const { fx, reporter, worker } = await setup();
  const task = makeTask('t1', { spec: { health: CHECK, stopGracePeriodMs: 1_500 } });
  worker.assign([task]);
  await worker.settled();
  worker.assign([withDesired(task, TaskState.SHUTDOWN, TaskState.STARTING)]);
  await worker.settled();
  t.is(reporter.last('t1')?.state, TaskState.SHUTDOWN);
  t.is(fx.stopped.get('t1'), 1_500);
  t.is(fx.byTask('t1'), undefined);
  await worker.close();
});

test('agent restart with health checks: healthy -> RUNNING at once, starting stays STARTING, unhealthy -> FAILED', async (t) => {
  const fx = new FakeExecutor();
  const spec = { health: CHECK, stopGracePeriodMs: 1_000 };
  const ok = makeTask('ok', { slot: 1, spec });
  const slow = makeTask('slow', { slot: 2, spec });
  const sick = makeTask('sick', { slot: 3, spec });
  fx.seed(ok, 'running', 0, 'healthy');
  fx.seed(slow, 'running', 0, 'starting');
  fx.seed(sick, 'running', 0, 'unhealthy');
  const { reporter, worker } = await setup(fx);
  worker.assign([
    withDesired(ok, TaskState.RUNNING, TaskState.RUNNING),
    withDesired(slow, TaskState.RUNNING, TaskState.STARTING),
    withDesired(sick, TaskState.RUNNING, TaskState.RUNNING),
  ]);
  await worker.settled();
  t.deepEqual(reporter.states('ok'), ['running']);
  t.deepEqual(reporter.states('slow'), ['starting']);
  t.is(reporter.last('slow')?.message, WAITING_FOR_HEALTH);
  // Running (err unhealthy: out of discovery at once), then FAILED once stopped.
  t.deepEqual(reporter.states('sick'), ['running', 'failed']);
  t.like(reporter.last('sick'), { err: 'unhealthy', exitCode: STOPPED_EXIT_CODE });
  t.is(fx.stopped.get('sick'), 1_000);

  fx.healthy('slow');
  await worker.settled();
  t.deepEqual(reporter.states('slow'), ['starting', 'running']);
  t.deepEqual(
    fx.ops.filter((o) => o.startsWith('start ') || o.startsWith('create ')),
    ['create ok', 'create slow', 'create sick'],
    'nothing created or started again (the creates are the seeds)',
  );
  t.is(fx.byTask('slow')?.starts, 1);
  t.deepEqual(reporter.backwards, []);
  await worker.close();
});

test('a container killed behind our back (exit 137) -> FAILED with exit code 137', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1')]);
  await worker.settled();
  fx.exit('t1', 137);
  await worker.settled();
  t.like(reporter.last('t1'), { state: TaskState.FAILED, exitCode: 137, err: 'task: non-zero exit (137)' });
  await worker.close();
});

test('reports never go backwards, even when the manager already knows more', async (t) => {
  const { fx, reporter, worker } = await setup();
  // The manager says READY (an earlier agent run got that far, its container was lost).
  worker.assign([makeTask('t1', { state: TaskState.READY })]);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['ready', 'starting', 'running']);
  // A stale COMPLETE set still shows ASSIGNED: nothing moves back.
  worker.assign([makeTask('t1', { state: TaskState.ASSIGNED })]);
  fx.exit('t1', 1);
  await worker.settled();
  t.deepEqual(reporter.states('t1'), ['ready', 'starting', 'running', 'failed']);
  t.deepEqual(reporter.backwards, []);
  await worker.close();
});

test('close() leaves containers running and reports nothing more', async (t) => {
  const { fx, reporter, worker } = await setup();
  worker.assign([makeTask('t1')]);
  await worker.settled();
  const n = reporter.reports.length;
  await worker.close();
  t.is(fx.byTask('t1')?.status, 'running');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
  t.is(reporter.reports.length, n);
});
