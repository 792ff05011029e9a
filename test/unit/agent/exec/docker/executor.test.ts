// The worker and the agent process with the real Docker executor. Every test that touches the
// engine lives in this one file and runs serially: an agent removes containers it does not
// know, so two test files sharing an engine would fight. Needs an engine of its own:
//   SHOAL_TEST_DOCKER_HOST=unix:///tmp/agentdev/docker.sock npx ava test/unit/agent/exec/docker/executor.test.ts
// The test image (SHOAL_TEST_IMAGE, default shoal-test/busybox:latest) is made from
// /bin/busybox with `docker import` when the engine does not have it.
import { writeBundle } from '../../../../../proto/pki/bundle.js';
import { issueTestBundle } from '../../../../helpers/test-pki.js';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { AssignmentsMessage_Kind, TaskState, type Task } from '../../../../../proto/gen/shoal.js';
import { LABEL, newId } from '../../../../../proto/naming.js';
import { Agent } from '../../../../../agent/agent.js';
import type { Controller, Executor, ManagedContainer } from '../../../../../agent/exec/executor.js';
import { DockerExecutor } from '../../../../../agent/exec/docker/executor.js';
import { containerConfig } from '../../../../../agent/exec/docker/spec.js';
import { Worker } from '../../../../../agent/worker.js';
import { makeTask, measured, RecordingReporter, spawnAgent, withDesired } from '../../../../helpers/agent-support.js';
import { until } from '../../../../helpers/until.js';
import {
  check,
  containersOf,
  docker,
  ensureImage,
  execIn,
  host,
  IMAGE,
  inspectTask,
  removeService,
  SERVICE,
  stopTimeout,
  socketPath,
  task,
} from '../../../../helpers/docker-engine.js';
import { FakeDispatcher } from '../../../../helpers/fake-dispatcher.js';
import { registerFileTests } from '../../../../helpers/engine-files.js';

/** Serial with an engine; without one each test is a skip that says what it needs. */
const run = (title: string, fn: (t: ExecutionContext) => Promise<void>): void => {
  if (host) test.serial(title, fn);
  else test.skip(`${title} (needs SHOAL_TEST_DOCKER_HOST=unix:///path/docker.sock)`, fn);
};

/**
 * A worker on the engine. `healthSafetyNetMs`: a long one leaves the health events as the
 * only thing that wakes a wait. `graces`: the grace period each task's container was
 * stopped with (undefined: the one it was created with).
 */
async function setup(opts: { healthSafetyNetMs?: number } = {}) {
  const reporter = new RecordingReporter();
  const executor = new DockerExecutor({ socketPath, ...opts });
  const graces = new Map<string, number | undefined>();
  const recording: Executor = {
    describe: () => executor.describe(),
    listManaged: () => executor.listManaged(),
    controller(t: Task, existing?: ManagedContainer): Controller {
      const ctl = executor.controller(t, existing);
      const shutdown = ctl.shutdown.bind(ctl);
      ctl.shutdown = (graceMs) => {
        graces.set(t.id, graceMs);
        return shutdown(graceMs);
      };
      return ctl;
    },
  };
  const worker = new Worker({ executor: recording, reporter, retryMinMs: 50 });
  await worker.start();
  return { reporter, worker, executor, graces };
}

/** Long enough that only an event can have woken a health wait within a test. */
const NO_SAFETY_NET_MS = 10 * 60_000;

test.before(async () => {
  if (host) await ensureImage();
});

test.after.always(async () => {
  if (host) await removeService(SERVICE);
});

run(
  'runs a task to RUNNING with shoal labels and no engine restart policy; SHUTDOWN stops and removes it',
  async (t) => {
    const { reporter, worker, graces } = await setup();
    const t1 = task('d1', 1, {
      command: ['sleep', '300'],
      stopGracePeriodMs: 1_000,
      limits: { nanoCpus: 5e8, memoryBytes: 32 * 2 ** 20 },
      labels: { team: 'x' },
    });
    worker.assign([t1]);
    await worker.settled();
    t.deepEqual(reporter.states('d1'), ['accepted', 'preparing', 'ready', 'starting', 'running']);
    const [c] = await containersOf('d1');
    t.truthy(c);
    t.is(c?.State, 'running');
    t.is(c?.Names[0], `/${SERVICE}.1.d1`);
    t.is(c?.Labels[LABEL.serviceName], SERVICE);
    t.is(c?.Labels.team, 'x');
    t.is(reporter.last('d1')?.containerId, c?.Id);
    const info = await docker.getContainer(c?.Id ?? '').inspect();
    t.is(info.HostConfig.RestartPolicy?.Name, 'no');
    t.is(info.HostConfig.NanoCpus, 5e8);
    t.is(info.HostConfig.Memory, 32 * 2 ** 20);

    t.is(stopTimeout(info), 1, "created with the spec's 1 s grace period, not docker's 10 s");

    const started = Date.now();
    worker.assign([withDesired(t1, TaskState.SHUTDOWN, TaskState.RUNNING)]);
    await worker.settled();
    const tookMs = Date.now() - started;
    t.is(reporter.last('d1')?.state, TaskState.SHUTDOWN);
    t.deepEqual(await containersOf('d1'), []);
    t.is(graces.get('d1'), 1_000, 'stopped with the 1 s grace period');
    // sleep as PID 1 ignores SIGTERM: SIGKILL only once the grace period is over.
    t.log(`measured: stop took ${tookMs} ms with a 1 s grace period`);
    t.true(tookMs >= 900, `stop took ${tookMs} ms: the grace period was honoured`);
    await worker.close();
  },
);

run('exit 0 -> COMPLETE, exit 3 -> FAILED with the exit code', async (t) => {
  const { reporter, worker } = await setup();
  worker.assign([
    task('ok', 1, { command: ['sh', '-c', 'exit 0'] }),
    task('bad', 2, { command: ['sh', '-c', 'exit 3'] }),
  ]);
  await until(
    () => reporter.last('ok')?.state === TaskState.COMPLETE && reporter.last('bad')?.state === TaskState.FAILED,
  );
  t.is(reporter.last('bad')?.exitCode, 3);
  t.is(reporter.last('bad')?.err, 'task: non-zero exit (3)');
  t.is((await containersOf('bad'))[0]?.State, 'exited', 'kept while desired RUNNING');
  t.deepEqual(reporter.backwards, []);
  await worker.close();
});

run('an image that cannot be pulled -> REJECTED with the engine message', async (t) => {
  const { reporter, worker } = await setup();
  // A registry on a closed local port fails at once (Docker Hub lookups time out here).
  worker.assign([task('nop', 1, {}, { image: '127.0.0.1:1/shoal/none:1' })]);
  await worker.settled();
  t.deepEqual(reporter.states('nop'), ['accepted', 'preparing', 'rejected']);
  t.regex(reporter.last('nop')?.err ?? '', /^image "127\.0\.0\.1:1\/shoal\/none:1": .*(refused|connect)/);
  t.deepEqual(await containersOf('nop'), []);
  await worker.close();
});

run(
  "a container of the task's name left by an earlier attempt is taken over (create answers 409), not made twice",
  async (t) => {
    const { reporter, worker } = await setup();
    const t1 = task('pre1', 1, { command: ['sleep', '300'], stopGracePeriodMs: 0 });
    // An earlier attempt created it and died before learning the id: same name, same labels.
    const left = await docker.createContainer(containerConfig(t1));
    worker.assign([t1]);
    await worker.settled();
    t.is(reporter.last('pre1')?.state, TaskState.RUNNING);
    t.is(reporter.last('pre1')?.containerId, left.id);
    const all = await containersOf('pre1');
    t.deepEqual(
      all.map((c) => [c.Id, c.State]),
      [[left.id, 'running']],
    );
    await worker.close();
  },
);

run('agent restart: adopts running and exited containers, removes unassigned ones, starts nothing twice', async (t) => {
  const first = await setup();
  const keep = task('keep', 1, { command: ['sleep', '300'] });
  const ends = task('ends', 2, { command: ['sh', '-c', 'sleep 1; exit 4'] });
  const orphan = task('orphan', 3, { command: ['sleep', '300'], stopGracePeriodMs: 1_000 });
  first.worker.assign([keep, ends, orphan]);
  await first.worker.settled();
  const before = await inspectTask('keep');
  t.is(stopTimeout(await inspectTask('orphan')), 1, 'the orphan was created with its 1 s grace period');
  await first.worker.close();
  await until(
    async () => (await inspectTask('ends')).State.Status === 'exited',
    "'ends' exits while the agent is away",
  );

  const second = await setup();
  second.worker.assign([keep, ends].map((x) => withDesired(x, TaskState.RUNNING, TaskState.RUNNING)));
  await second.worker.settled();
  await until(() => second.reporter.last('ends') !== undefined);
  t.deepEqual(second.reporter.states('keep'), ['running']);
  t.is(second.reporter.last('keep')?.containerId, before.Id);
  const after = await docker.getContainer(before.Id).inspect();
  t.is(after.State.StartedAt, before.State.StartedAt, 'not restarted');
  t.is((await containersOf('keep')).length, 1, 'no second container');
  t.deepEqual(second.reporter.states('ends'), ['failed']);
  t.is(second.reporter.last('ends')?.exitCode, 4);
  await second.worker.settled();
  t.deepEqual(await containersOf('orphan'), [], 'a container whose task is not assigned is removed');
  t.true(second.graces.has('orphan'), 'stopped first...');
  t.is(second.graces.get('orphan'), undefined, '...with the grace period it was created with (1 s), not 10 s');

  // The adopted container is still followed: stopping it by hand makes the task FAILED.
  await docker.getContainer(before.Id).kill();
  await until(() => second.reporter.last('keep')?.state === TaskState.FAILED);
  t.is(second.reporter.last('keep')?.exitCode, 137);
  await second.worker.close();
});

// ---------------------------------------------------------------- health checks

run(
  'health check: STARTING "waiting for the health check" until it passes, then RUNNING, through events',
  async (t) => {
    const { reporter, worker, executor } = await setup({ healthSafetyNetMs: NO_SAFETY_NET_MS });
    // Failed probes within the start period do not count: it stays starting until /tmp/ok exists.
    worker.assign([
      task('slow', 1, { command: ['sleep', '300'], health: check('test -f /tmp/ok', 60_000), stopGracePeriodMs: 0 }),
    ]);
    await until(() => reporter.last('slow')?.message === 'waiting for the health check');
    t.is(reporter.last('slow')?.state, TaskState.STARTING);
    await until(
      async () => ((await inspectTask('slow')).State.Health?.Log ?? []).length >= 2,
      'the check ran (and failed) twice',
    );
    t.is(reporter.last('slow')?.state, TaskState.STARTING, 'not RUNNING while the check fails');
    const [c] = await containersOf('slow');
    t.is(c?.State, 'running');
    t.is(executor.healthEvents.watching, 1, 'watched through the events stream');

    const touched = Date.now();
    await execIn('slow', ['touch', '/tmp/ok']);
    await until(() => reporter.last('slow')?.state === TaskState.RUNNING);
    // With the safety net at 10 min, only the health_status event can have woken the wait.
    measured(t, 'health check can pass -> RUNNING (probe interval 200 ms)', Date.now() - touched);
    t.deepEqual(reporter.states('slow'), ['accepted', 'preparing', 'ready', 'starting', 'starting', 'running']);
    t.is(reporter.last('slow')?.containerId, c?.Id);
    t.deepEqual(reporter.backwards, []);
    await worker.close();
    await until(() => !executor.healthEvents.isOpen, 'the events stream closed with the last watch');
    t.pass();
  },
);

run('health check that always fails (exit 1): stopped, then FAILED err "unhealthy" with the exit code', async (t) => {
  const { reporter, worker } = await setup();
  // sleep as PID 1 ignores SIGTERM: killed after the 1 s grace period, exit code 137.
  worker.assign([task('sick', 1, { command: ['sleep', '300'], health: check('exit 1'), stopGracePeriodMs: 1_000 })]);
  await until(() => reporter.last('sick')?.state === TaskState.FAILED);
  const failed = reporter.last('sick');
  t.is(failed?.err, 'unhealthy');
  t.is(failed?.exitCode, 137);
  t.false(reporter.states('sick').includes('running'), 'never RUNNING');
  const [c] = await containersOf('sick');
  t.is(c?.State, 'exited', 'stopped before the report, kept while desired RUNNING');
  await worker.close();
});

run('healthy, then unhealthy while running: FAILED "unhealthy", woken by the health event', async (t) => {
  const { reporter, worker } = await setup({ healthSafetyNetMs: NO_SAFETY_NET_MS });
  worker.assign([
    task('turns', 1, { command: ['sleep', '300'], health: check('test ! -f /tmp/sick'), stopGracePeriodMs: 0 }),
  ]);
  await until(() => reporter.last('turns')?.state === TaskState.RUNNING);
  const sickened = Date.now();
  await execIn('turns', ['touch', '/tmp/sick']);
  await until(() => reporter.last('turns')?.state === TaskState.FAILED);
  measured(t, 'health check fails -> FAILED unhealthy (interval 200 ms, 1 retry, grace 0)', Date.now() - sickened);
  t.like(reporter.last('turns'), { err: 'unhealthy', exitCode: 137 });
  t.is((await containersOf('turns'))[0]?.State, 'exited');
  await worker.close();
});

run('the image\'s own health check applies; ["NONE"] in the spec disables it', async (t) => {
  const sickImage = `${IMAGE.replace(/:[^:/]*$/, '')}-sick:latest`;
  const base = await docker.createContainer({ Image: IMAGE });
  try {
    await base.commit({
      repo: sickImage.replace(/:latest$/, ''),
      tag: 'latest',
      changes: 'HEALTHCHECK --interval=200ms --retries=1 CMD ["false"]',
    });
  } finally {
    await base.remove({ force: true });
  }
  t.teardown(() =>
    docker
      .getImage(sickImage)
      .remove({ force: true })
      .catch(() => {}),
  );
  const { reporter, worker } = await setup();
  const none = { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  worker.assign([
    task('inherits', 1, { command: ['sleep', '300'], stopGracePeriodMs: 0 }, { image: sickImage }),
    task('disabled', 2, { command: ['sleep', '300'], stopGracePeriodMs: 0, health: none }, { image: sickImage }),
  ]);
  await until(() => reporter.last('inherits')?.state === TaskState.FAILED);
  t.is(reporter.last('inherits')?.err, 'unhealthy');
  t.is(reporter.last('disabled')?.state, TaskState.RUNNING);
  const [c] = await containersOf('disabled');
  const info = await docker.getContainer(c?.Id ?? '').inspect();
  t.deepEqual(info.Config.Healthcheck?.Test, ['NONE']);
  t.is(info.State.Health, undefined, 'no health check runs');
  await worker.close();
});

run(
  'agent restart with health checks: a healthy container is RUNNING at once, a starting one stays STARTING',
  async (t) => {
    const first = await setup();
    const ok = task('hok', 1, {
      command: ['sh', '-c', 'touch /tmp/ok; sleep 300'],
      health: check('test -f /tmp/ok'),
      stopGracePeriodMs: 0,
    });
    const slow = task('hslow', 2, {
      command: ['sleep', '300'],
      health: check('test -f /tmp/ok', 60_000),
      stopGracePeriodMs: 0,
    });
    first.worker.assign([ok, slow]);
    await until(
      () =>
        first.reporter.last('hok')?.state === TaskState.RUNNING &&
        first.reporter.last('hslow')?.message === 'waiting for the health check',
    );
    const startedAt = async (id: string) =>
      (await docker.getContainer((await containersOf(id))[0]?.Id ?? '').inspect()).State.StartedAt;
    const before = [await startedAt('hok'), await startedAt('hslow')];
    await first.worker.close();

    const second = await setup();
    second.worker.assign([
      withDesired(ok, TaskState.RUNNING, TaskState.RUNNING),
      withDesired(slow, TaskState.RUNNING, TaskState.STARTING),
    ]);
    await second.worker.settled();
    t.deepEqual(second.reporter.states('hok'), ['running']);
    t.deepEqual(second.reporter.states('hslow'), ['starting']);
    t.is(second.reporter.last('hslow')?.message, 'waiting for the health check');
    await execIn('hslow', ['touch', '/tmp/ok']);
    await until(() => second.reporter.last('hslow')?.state === TaskState.RUNNING);
    t.deepEqual(second.reporter.states('hslow'), ['starting', 'running']);
    t.deepEqual([await startedAt('hok'), await startedAt('hslow')], before, 'neither restarted');
    t.is((await containersOf('hslow')).length, 1);
    await second.worker.close();
  },
);

run("docker kill behind the agent's back: FAILED with exit code 137 at the manager", async (t) => {
  const d = new FakeDispatcher();
  await d.start();
  t.teardown(() => d.stop());
  const ids = ['killed1', 'killed2', 'killed3'];
  d.tasks.set(
    'node1',
    ids.map((id, i) => task(id, i + 1, { command: ['sleep', '300'], stopGracePeriodMs: 0 })),
  );
  const agent = new Agent({
    managers: [d.address],
    joinToken: 'tok',
    hostname: 'h',
    labels: {},
    executor: new DockerExecutor({ socketPath }),
  });
  t.teardown(() => agent.close());
  agent.start();
  const reported = (id: string, state: TaskState) =>
    d.updates.find((u) => u.taskId === id && u.status?.state === state);
  await until(() => ids.every((id) => reported(id, TaskState.RUNNING) !== undefined));
  for (const id of ids) {
    const [c] = await containersOf(id);
    const killAt = Date.now();
    await docker.getContainer(c?.Id ?? '').kill(); // returns once the engine has it dead
    const deadAt = Date.now();
    await until(() => reported(id, TaskState.FAILED) !== undefined);
    const total = Date.now() - killAt;
    const ours = Date.now() - deadAt;
    measured(
      t,
      `docker kill -> FAILED 137 at the dispatcher (engine ${deadAt - killAt} ms to have it dead, agent ${ours} ms incl. 50 ms batching)`,
      total,
    );
    t.is(reported(id, TaskState.FAILED)?.status?.exitCode, 137);
  }
  await agent.close();
});

run('the agent process: runs tasks on Docker, keeps its node id, and a restart adopts its containers', async (t) => {
  const service = `maintest-${newId().slice(0, 8)}`;
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'shoal-agent-state-'));
  const d = new FakeDispatcher();
  await d.start(0, { tls: true });
  // The node's certificate, as joining would have left it (the fake manager has no join port).
  writeBundle(path.join(stateDir, 'tls'), await issueTestBundle('node1', 'worker'));
  t.teardown(async () => {
    d.stop();
    rmSync(stateDir, { recursive: true, force: true });
    for (const c of await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.serviceName}=${service}`] },
    })) {
      await docker.getContainer(c.Id).remove({ force: true });
    }
  });
  const task = {
    ...makeTask(newId(), {
      image: IMAGE,
      spec: { name: service, command: ['sleep', '300'], stopGracePeriodMs: 1_000 },
    }),
    serviceName: service,
  };
  d.tasks.set('node1', [task]);
  const args = [
    '--manager',
    d.address,
    '--join-token',
    'tok',
    '--name',
    'bedhost',
    '--docker-host',
    host ?? '',
    '--label',
    'zone=a',
    '--state-dir',
    stateDir,
  ];
  const running = () => d.updates.some((u) => u.taskId === task.id && u.status?.state === TaskState.RUNNING);

  const first = spawnAgent(t, args);
  await until(running, 'task RUNNING');
  t.is(d.registrations[0]?.nodeId, 'node1', "the node id is its certificate's (STATE/tls)");
  t.like(d.registrations[0]?.description, { hostname: 'bedhost', labels: { zone: 'a' } });
  t.true((d.registrations[0]?.description?.resources?.nanoCpus ?? 0) >= 1e9);
  const [c] = await docker.listContainers({ filters: { label: [`${LABEL.taskId}=${task.id}`] } });
  t.truthy(c);
  const startedAt = (await docker.getContainer(c?.Id ?? '').inspect()).State.StartedAt;

  first.child.kill('SIGTERM');
  t.is(await first.exit, 0);
  t.is((await docker.getContainer(c?.Id ?? '').inspect()).State.Running, true, 'SIGTERM leaves containers running');

  d.tasks.set('node1', [withDesired(task, TaskState.RUNNING, TaskState.RUNNING)]);
  const before = d.updates.length;
  const second = spawnAgent(t, args);
  await until(() => d.registrations.length === 2, 'second registration');
  t.is(d.registrations[1]?.nodeId, 'node1', 'the certificate read back from --state-dir');
  await until(() => d.updates.length > before, 'adopted status');
  const adopted = d.updates.slice(before).find((u) => u.taskId === task.id);
  t.is(adopted?.status?.state, TaskState.RUNNING);
  t.is(adopted?.status?.containerId, c?.Id);
  t.is((await docker.getContainer(c?.Id ?? '').inspect()).State.StartedAt, startedAt, 'not restarted');
  t.is((await docker.listContainers({ all: true, filters: { label: [`${LABEL.taskId}=${task.id}`] } })).length, 1);

  // The manager removes the service: desired REMOVE -> SHUTDOWN, container removed.
  d.push('node1', {
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [withDesired(task, TaskState.REMOVE, TaskState.RUNNING)],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    removedTaskIds: [],
  });
  await until(() => d.updates.some((u) => u.taskId === task.id && u.status?.state === TaskState.SHUTDOWN), 'SHUTDOWN');
  await until(async () => (await containersOf(task.id)).length === 0, 'container removed');
  second.child.kill('SIGTERM');
  t.is(await second.exit, 0);
});

run('a wait asked with an already aborted signal returns at once (the abort is not lost)', async (t) => {
  const { reporter, worker, executor } = await setup();
  const tk = task('abortedwait', 1, { command: ['sleep', '300'] });
  worker.assign([tk]);
  await until(() => reporter.last('abortedwait')?.state === TaskState.RUNNING);
  const [c] = await containersOf('abortedwait');
  const ctl = executor.controller(
    tk,
    (await executor.listManaged()).find((m) => m.id === c!.Id),
  );
  const ac = new AbortController();
  ac.abort();
  await ctl.wait(ac.signal, 'exit').then(
    () => {},
    () => {},
  );
  t.true((await inspectTask('abortedwait')).State.Running, 'returned while the container still runs');
  await worker.close();
});

registerFileTests(run); // secrets and configs (test/helpers/engine-files.ts)
