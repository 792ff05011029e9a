import test from 'ava';
import type { ServiceSpec, Task, UpdateConfig } from '../../../../proto/gen/shoal.js';
import { UpdateFailureAction, UpdateOrder, UpdateState } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { DEFAULT_UPDATE_CONFIG } from '../../../../proto/spec-rules.js';
import { rollbackService, updateService } from '../../../../manager/controlapi/service-update.js';
import { ControlLoop } from '../../../../manager/control-loop.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const three = () => [makeNode('host1'), makeNode('host2'), makeNode('host3')];
const OLD = 'registry.local/busybox:1';
const NEW = 'registry.local/busybox:2';

function deps(core: Core) {
  return {
    state: core.state,
    sync: () => core.writer.sync(),
    now: () => core.clock,
    findService: (ref: string) => core.api.findService(ref),
  };
}

/**
 * Task creation times are unique in the process (strictly increasing): each core's fake clock
 * starts far above every earlier one's, and the tests run serially, so deadlines are exact.
 */
let base = 1_000_000;

async function start(replicas: number, update: Partial<UpdateConfig> = {}, spec: Partial<ServiceSpec> = {}) {
  const core = new Core(three());
  core.clock = base += 100_000_000;
  await core.api.createService({
    spec: makeSpec('web', { replicas, image: OLD, update: { ...DEFAULT_UPDATE_CONFIG, ...update }, ...spec }),
  });
  core.settle();
  core.agentsReport();
  return core;
}

async function update(core: Core, change: Partial<ServiceSpec>) {
  core.clock += 1_000; // task creation times are unique across the process: keep clear of them
  const s = core.api.findService('web');
  const out = await updateService(deps(core), {
    ref: 'web',
    spec: { ...s.spec!, ...change },
    specVersion: s.specVersion,
    resolveImage: 0,
    registryAuth: '',
  });
  core.settle();
  return out;
}

/** Lets `ms` pass and runs what the timers would have woken. */
function tick(core: Core, ms: number): void {
  core.clock += ms;
  core.loop.updater.markAll();
  core.settle();
}

const image = (t: Task) => t.spec?.image;
const running = (core: Core, img?: string) =>
  core.tasksOf('web').filter((t) => t.status?.state === TaskState.RUNNING && (!img || image(t) === img)).length;
const status = (core: Core) => core.api.findService('web').updateStatus;

/** Plays the agents until nothing moves; returns the fewest running tasks seen between steps. */
function converge(core: Core, rounds = 20): number {
  let least = Infinity;
  for (let i = 0; i < rounds; i++) {
    least = Math.min(least, running(core));
    core.agentsReport();
  }
  return least;
}

test.serial('create stores the default update and rollback configs', async (t) => {
  const core = new Core(three());
  const s = await core.api.createService({ spec: makeSpec('web') });
  t.deepEqual(s.spec?.update, DEFAULT_UPDATE_CONFIG);
  t.deepEqual(s.spec?.rollback, DEFAULT_UPDATE_CONFIG);
  t.is(DEFAULT_UPDATE_CONFIG.healthyDeadlineMs, 300_000);
  t.is(DEFAULT_UPDATE_CONFIG.progressDeadlineMs, 600_000);
  await core.close();
});

test.serial('stop-first in batches of 2: never fewer than 4 running, then completed after monitor', async (t) => {
  const core = await start(6, { parallelism: 2, monitorMs: 5_000 });
  const s = await update(core, { image: NEW });
  t.is(s.specVersion, 2);
  t.is(s.previousVersions.length, 1);
  t.is(status(core)?.state, UpdateState.UPDATING);
  t.is(core.live('web').filter((x) => image(x) === OLD).length, 4, 'two old tasks are stopped first');
  t.is(core.live('web').length, 4, 'no new task before the old ones have stopped');
  const least = converge(core);
  t.true(least >= 4, `least running ${least}`);
  t.is(running(core, NEW), 6);
  t.is(status(core)?.state, UpdateState.UPDATING, 'waits for the monitor window');
  tick(core, 5_000);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  t.is(status(core)?.completedAtMs, core.clock);
  t.deepEqual(core.spread('web'), { host1: 2, host2: 2, host3: 2 });
  await core.close();
});

test.serial('start-first keeps every replica running', async (t) => {
  const core = await start(6, { parallelism: 2, order: UpdateOrder.START_FIRST, monitorMs: 0 });
  await update(core, { image: NEW });
  t.is(core.live('web').length, 8, 'two new tasks start beside the old ones');
  const least = converge(core);
  t.true(least >= 6, `least running ${least}`);
  t.is(running(core, NEW), 6);
  t.is(core.live('web').length, 6);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  await core.close();
});

test.serial('parallelism 0 replaces every task at once; delay spaces batches', async (t) => {
  const core = await start(4, { parallelism: 0, monitorMs: 0 });
  await update(core, { image: NEW });
  t.is(core.live('web').filter((x) => image(x) === OLD).length, 0);
  converge(core);
  t.is(running(core, NEW), 4);

  const d = await start(3, { parallelism: 1, delayMs: 10_000, monitorMs: 0 });
  await update(d, { image: NEW });
  converge(d);
  t.is(running(d, NEW), 1, 'one batch, then the delay');
  tick(d, 10_000);
  converge(d);
  t.is(running(d, NEW), 2);
  tick(d, 10_000);
  converge(d);
  t.is(running(d, NEW), 3);
  t.is(d.api.findService('web').updateStatus?.state, UpdateState.COMPLETED);
  await core.close();
  await d.close();
});

/** Makes every new task of `img` fail as soon as it is assigned. */
function failNew(core: Core, img: string): void {
  for (const x of core.tasksOf('web'))
    if (image(x) === img && x.status?.state === TaskState.ASSIGNED)
      core.report(x.id, TaskState.FAILED, { exitCode: 1, err: 'task exited with code 1' });
  core.settle();
}

test.serial('a failing task pauses the update with its reason; a later update proceeds', async (t) => {
  const core = await start(6, { parallelism: 2 });
  await update(core, { image: NEW });
  core.agentsReport(); // old ones stop; new ones are created and assigned
  failNew(core, NEW);
  const st = status(core)!;
  t.is(st.state, UpdateState.PAUSED);
  t.regex(st.message, /^update paused due to failure or early termination of task web\.[12]: task exited with code 1$/);
  t.is(running(core, OLD), 4, 'the other slots are left alone');
  await update(core, { image: 'registry.local/busybox:3' });
  t.is(status(core)?.state, UpdateState.UPDATING);
  converge(core);
  tick(core, 5_000);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  t.is(running(core, 'registry.local/busybox:3'), 6);
  await core.close();
});

test.serial('failure action rollback: back to the old image, ROLLBACK_COMPLETED with the reason', async (t) => {
  const core = await start(6, { parallelism: 2, failureAction: UpdateFailureAction.ROLLBACK });
  await update(core, { image: NEW });
  core.agentsReport();
  failNew(core, NEW);
  t.is(status(core)?.state, UpdateState.ROLLBACK_STARTED);
  const s = core.api.findService('web');
  t.is(s.spec?.image, OLD);
  t.is(s.previousVersions.length, 0);
  converge(core);
  tick(core, 5_000);
  const st = status(core)!;
  t.is(st.state, UpdateState.ROLLBACK_COMPLETED);
  t.regex(st.message, /^update rolled back due to failure of task web\.\d: task exited with code 1$/);
  t.is(running(core, OLD), 6);
  await core.close();
});

test.serial('a task failing within the monitor window counts; after it, not', async (t) => {
  const core = await start(1, { monitorMs: 5_000 });
  await update(core, { image: NEW });
  converge(core);
  const fresh = core.live('web')[0]!;
  tick(core, 2_000);
  core.report(fresh.id, TaskState.FAILED, { exitCode: 3 });
  core.settle();
  t.is(status(core)?.state, UpdateState.PAUSED);
  t.regex(status(core)!.message, /task web\.1: task exited with code 3/);

  const ok = await start(1, { monitorMs: 5_000 });
  await update(ok, { image: NEW });
  converge(ok);
  tick(ok, 5_000);
  t.is(ok.api.findService('web').updateStatus?.state, UpdateState.COMPLETED);
  await core.close();
  await ok.close();
});

test.serial('healthy deadline: a task that never runs fails the update with its pending reason', async (t) => {
  const core = await start(2, { healthyDeadlineMs: 10_000, failureAction: UpdateFailureAction.ROLLBACK });
  await update(core, { image: NEW, constraints: ['node.hostname==nowhere'] });
  core.agentsReport();
  t.is(core.live('web').filter((x) => image(x) === NEW).length, 1);
  tick(core, 9_999);
  t.is(status(core)?.state, UpdateState.UPDATING, 'still within the deadline');
  tick(core, 1);
  const st = status(core)!;
  t.is(st.state, UpdateState.ROLLBACK_STARTED);
  t.regex(st.message, /^update rolled back due to failure of task web\.1: .*not running within 10s/);
  converge(core);
  tick(core, 5_000);
  t.is(status(core)?.state, UpdateState.ROLLBACK_COMPLETED);
  t.is(running(core, OLD), 2);
  await core.close();
});

test.serial('progress deadline: an update not done in time pauses', async (t) => {
  const core = await start(2, { healthyDeadlineMs: 60_000, progressDeadlineMs: 20_000 });
  await update(core, { image: NEW, constraints: ['node.hostname==nowhere'] });
  core.agentsReport();
  tick(core, 20_000);
  t.is(status(core)?.state, UpdateState.PAUSED);
  t.regex(status(core)!.message, /task web\.1/);
  await core.close();
});

test.serial('continue: a failure does not stop the update', async (t) => {
  const core = await start(3, { failureAction: UpdateFailureAction.CONTINUE, monitorMs: 0 });
  await update(core, { image: NEW });
  core.agentsReport();
  failNew(core, NEW);
  t.is(status(core)?.state, UpdateState.UPDATING);
  converge(core);
  tick(core, 1_000);
  converge(core);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  await core.close();
});

test.serial('no-op update: no new version; replicas only: no task replaced', async (t) => {
  const core = await start(3);
  const before = core.tasksOf('web').map((x) => x.id);
  const same = await update(core, {});
  t.is(same.specVersion, 1);
  t.is(same.updateStatus, undefined);
  const scaled = await update(core, { replicas: 4 });
  t.is(scaled.specVersion, 2);
  t.is(scaled.updateStatus, undefined);
  core.agentsReport();
  const live = core.live('web').map((x) => x.id);
  t.is(live.length, 4);
  t.true(
    before.every((id) => live.includes(id)),
    'the 3 tasks are kept',
  );
  await core.close();
});

test.serial('--force replaces every task', async (t) => {
  const core = await start(3, { monitorMs: 0 });
  const before = core.tasksOf('web').map((x) => x.id);
  await update(core, { forceUpdate: 1 });
  converge(core);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  t.true(core.live('web').every((x) => !before.includes(x.id)));
  await core.close();
});

test.serial('versions: 10 kept, rollback twice goes back two versions, then refused', async (t) => {
  const core = await start(1, { monitorMs: 0 });
  for (let i = 2; i <= 13; i++) await update(core, { image: `registry.local/busybox:${i}` });
  let s = core.api.findService('web');
  t.is(s.specVersion, 13);
  t.is(s.previousVersions.length, 10);
  t.is(s.previousVersions[9]?.spec?.image, 'registry.local/busybox:12');
  s = await rollbackService(deps(core), { ref: 'web' });
  t.is(s.spec?.image, 'registry.local/busybox:12');
  t.is(s.updateStatus?.state, UpdateState.ROLLBACK_STARTED);
  s = await rollbackService(deps(core), { ref: 'web' });
  t.is(s.spec?.image, 'registry.local/busybox:11');
  t.is(s.previousVersions.length, 8);
  core.settle();
  converge(core);
  t.is(running(core, 'registry.local/busybox:11'), 1);
  tick(core, 5_000); // the rollback config's monitor window
  t.is(status(core)?.state, UpdateState.ROLLBACK_COMPLETED);

  const fresh = await start(1);
  const err = await t.throwsAsync(() => rollbackService(deps(fresh), { ref: 'web' }));
  t.regex(err.message, /service web has no previous version to roll back to/);
  await core.close();
  await fresh.close();
});

test.serial('a stale spec_version is refused; bad update configs are refused with the flag name', async (t) => {
  const core = await start(1);
  const s = core.api.findService('web');
  await update(core, { image: NEW });
  const stale = await t.throwsAsync(() =>
    updateService(deps(core), { ref: 'web', spec: s.spec, specVersion: 1, resolveImage: 0, registryAuth: '' }),
  );
  t.regex(stale.message, /service web changed since version 1: run the update again/);
  const bad = async (u: Partial<UpdateConfig>, field: 'update' | 'rollback' = 'update') =>
    (
      await t.throwsAsync(() =>
        updateService(deps(core), {
          ref: 'web',
          spec: { ...s.spec!, [field]: { ...DEFAULT_UPDATE_CONFIG, ...u } },
          specVersion: 0,
          resolveImage: 0,
          registryAuth: '',
        }),
      )
    )?.message;
  t.regex(await bad({ maxFailureRatio: 2 }), /invalid --update-max-failure-ratio 2: between 0 and 1/);
  t.regex(await bad({ monitorMs: -1 }), /invalid --update-monitor/);
  t.regex(
    await bad({ failureAction: UpdateFailureAction.ROLLBACK }, 'rollback'),
    /invalid --rollback-failure-action 2: expected pause or continue/,
  );
  t.regex(await bad({ order: 7 as UpdateOrder }), /invalid --update-order 7/);
  const rename = await t.throwsAsync(() =>
    updateService(deps(core), {
      ref: 'web',
      spec: { ...s.spec!, name: 'other' },
      specVersion: 0,
      resolveImage: 0,
      registryAuth: '',
    }),
  );
  t.regex(rename.message, /the name of service web cannot change/);
  await core.close();
});

test.serial('a new leader carries on an update from what is stored (status and tasks)', async (t) => {
  const core = await start(6, { parallelism: 2, monitorMs: 0 });
  await update(core, { image: NEW });
  core.agentsReport(); // the first batch: old stopped, new created
  // The leader goes; another one starts from the same state (its updater knows nothing else).
  core.loop.disable();
  await core.loop.close();
  const next = new ControlLoop(core.state, () => core.clock);
  next.enable();
  next.pass();
  const settle = () => {
    for (let i = 0; i < 20; i++) {
      for (const x of [...core.state.tasks.values()]) {
        const st = x.status?.state ?? TaskState.NEW;
        if (st < TaskState.ASSIGNED || st >= TaskState.COMPLETE) continue;
        const want = x.desiredState === TaskState.RUNNING ? TaskState.RUNNING : TaskState.SHUTDOWN;
        if (st !== want) core.report(x.id, want);
      }
      next.pass();
    }
  };
  settle();
  t.is(running(core, NEW), 6);
  t.is(status(core)?.state, UpdateState.COMPLETED);
  await next.close();
});
