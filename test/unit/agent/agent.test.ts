// The agent against a real grpc-js Dispatcher on 127.0.0.1 (a fake with the manager's session
// rules) and the in-memory executor: registration, heartbeats, re-registration, failover,
// close. Manager HA (followers, elections, partitions) is in agent-ha.test.ts; the heartbeat
// timing itself in session.test.ts.
import test, { type ExecutionContext } from 'ava';
import { AssignmentsMessage_Kind, TaskState } from '../../../proto/gen/shoal.js';
import { backoffMs, BACKOFF_MAX_MS } from '../../../agent/backoff.js';
import { makeTask, measured, withDesired } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';
import { dispatcher, newAgent, statesSent } from '../../helpers/agent-harness.js';
import { RecordingClock } from '../../helpers/manual-clock.js';
import { FakeDispatcher } from '../../helpers/fake-dispatcher.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';

/** A dispatcher assigning task t1 to node1, and an agent that already runs it. */
async function agentRunningT1(t: ExecutionContext, clock?: RecordingClock) {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1')]);
  const fx = new FakeExecutor();
  const { agent } = newAgent(t, [d.address], fx, clock === undefined ? {} : { clock });
  agent.start();
  await until(() => statesSent(d, 't1').includes(TaskState.RUNNING), 't1 RUNNING at the dispatcher');
  return { d, fx, agent };
}

test('registers with the engine description, heartbeats at the given period, runs its tasks', async (t) => {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1', { slot: 1 }), makeTask('t2', { slot: 2 })]);
  const fx = new FakeExecutor();
  const ids: string[] = [];
  const { agent } = newAgent(t, [d.address], fx, { onNodeId: (id) => void ids.push(id) });
  t.is(agent.state, 'new');
  agent.start();
  t.is(agent.state, 'running');
  t.throws(() => agent.start(), { message: /cannot start: it is running/ });
  const info = await agent.nextRegistration();
  t.is(info.nodeId, 'node1');
  t.is(info.heartbeatPeriodMs, 100, "the manager's period, not the 1 s default");
  t.is(agent.nodeId, 'node1');
  t.deepEqual(ids, ['node1']);

  const reg = d.registrations[0];
  t.is(reg?.joinToken, 'SWMTKN-test');
  t.is(reg?.nodeId, '');
  t.like(reg?.description, {
    hostname: 'host1',
    labels: { zone: 'a' },
    resources: { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
    engineVersion: 'fake-20.10',
    os: 'linux',
    arch: 'x86_64',
  });

  await until(() => statesSent(d, 't1').includes(TaskState.RUNNING) && statesSent(d, 't2').includes(TaskState.RUNNING));
  t.deepEqual(
    statesSent(d, 't1'),
    [TaskState.ACCEPTED, TaskState.PREPARING, TaskState.READY, TaskState.STARTING, TaskState.RUNNING].filter((s) =>
      statesSent(d, 't1').includes(s),
    ),
    'in order, never backwards',
  );
  t.true(d.batches.length < d.updates.length, `batched: ${d.updates.length} updates in ${d.batches.length} calls`);
  const running = d.updates.find((u) => u.taskId === 't1' && u.status?.state === TaskState.RUNNING);
  t.is(running?.status?.containerId, fx.byTask('t1')?.id);

  await until(() => d.heartbeats.length >= 5, 'five heartbeats');
  t.true(d.heartbeats.every((h) => h.nodeId === 'node1' && h.sessionId === 's1'));
  await agent.close();
});

test('incremental assignments reach the worker: desired SHUTDOWN stops and removes', async (t) => {
  const { d, fx, agent } = await agentRunningT1(t);
  d.push('node1', {
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [withDesired(makeTask('t1'), TaskState.SHUTDOWN, TaskState.RUNNING)],
    secrets: [],
    configs: [],
    renewCertificate: false,
    caPem: '',
    registryCredentials: [],
    removedTaskIds: [],
  });
  await until(() => statesSent(d, 't1').includes(TaskState.SHUTDOWN));
  await until(() => fx.byTask('t1') === undefined, 'container removed');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start', 'stop', 'remove']);
  await agent.close();
});

for (const how of ['heartbeat NOT_FOUND', 'stream error'] as const) {
  test(`session lost (${how}): re-registers with the same node id, re-sends statuses, no restart`, async (t) => {
    const { d, fx, agent } = await agentRunningT1(t);
    const before = d.updates.length;

    // The manager's view of the task is now RUNNING (it stored our report).
    d.tasks.set('node1', [withDesired(makeTask('t1'), TaskState.RUNNING, TaskState.RUNNING)]);
    const again = agent.nextRegistration();
    if (how === 'stream error') d.forgetSessions();
    else d.forgetSessionsQuietly();
    const info = await again;
    t.is(info.nodeId, 'node1');
    t.is(d.registrations.length, 2);
    t.is(d.registrations[1]?.nodeId, 'node1', 'the node id is sent back');
    await until(() => d.updates.length > before, 'statuses re-sent');
    const resent = d.updates.slice(before);
    t.true(resent.some((u) => u.taskId === 't1' && u.status?.state === TaskState.RUNNING));
    t.is(fx.byTask('t1')?.starts, 1, 'the container was not restarted');
    t.is(fx.containers.size, 1);
    await agent.close();
  });
}

test('fails over: an unreachable first manager is skipped, a manager that dies is replaced', async (t) => {
  const dead = new FakeDispatcher();
  const deadAddress = await dead.start();
  dead.stop(); // nothing listens there any more
  const a = await dispatcher(t);
  const b = await dispatcher(t, 0, () => 'unused');
  a.tasks.set('node1', [makeTask('t1')]);
  b.tasks.set('node1', [withDesired(makeTask('t1'), TaskState.RUNNING, TaskState.RUNNING)]);
  const fx = new FakeExecutor();
  const { agent } = newAgent(t, [deadAddress, a.address, b.address], fx);
  agent.start();
  await until(() => statesSent(a, 't1').includes(TaskState.RUNNING));
  t.is(a.registrations.length, 1);

  const next = agent.nextRegistration();
  a.stop(); // the manager dies
  const info = await next;
  t.is(info.nodeId, 'node1');
  t.is(b.registrations[0]?.nodeId, 'node1');
  await until(() => statesSent(b, 't1').includes(TaskState.RUNNING), 'status re-sent to the new manager');
  t.is(fx.byTask('t1')?.starts, 1);
  await agent.close();
});

test('a manager that is down at first is found once it comes up (backoff, retries)', async (t) => {
  const probe = new FakeDispatcher();
  const address = await probe.start();
  const port = Number(address.split(':')[1]);
  probe.stop();
  const { agent, backoffs } = newAgent(t, [address]);
  agent.start();
  await until(() => backoffs.length >= 2, 'several failed rounds, with a pause after each');
  t.true(backoffs.every((b) => b.what === 'managers'));
  const d = await dispatcher(t, port);
  await agent.nextRegistration();
  t.is(d.registrations.length, 1);
  await agent.close();
});

test('close(): stops cleanly and idempotently, containers keep running, no timer left', async (t) => {
  const clock = new RecordingClock();
  const { d, fx, agent } = await agentRunningT1(t, clock);
  await until(() => d.heartbeats.length >= 1, 'a heartbeat');
  const closing = agent.close();
  t.is(agent.state, 'stopping');
  await Promise.all([closing, agent.close()]);
  t.is(agent.state, 'stopped');
  t.is(fx.byTask('t1')?.status, 'running');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
  // Heartbeats (and reports) only ever come from these timers: none left, none can come.
  t.is(clock.pendingCount, 0, 'no heartbeat, connect or flush timer pending after close');
});

test('close() before the engine ever answered still stops', async (t) => {
  const fx = new FakeExecutor();
  fx.unavailableCalls = Number.MAX_SAFE_INTEGER;
  const { agent, backoffs, lines } = newAgent(t, ['127.0.0.1:1'], fx);
  agent.start();
  await until(() => backoffs.length >= 2, 'the engine asked again, with a pause after each failure');
  t.true(backoffs.every((b) => b.what === 'engine'));
  t.regex(lines.join('\n'), /agent: engine: fake engine unreachable \(ECONNREFUSED\) \(retrying in \d+ ms\)/);
  await agent.close();
  t.is(agent.state, 'stopped');
});

test('backoff: 100 ms doubling to 1 s, jittered within [d/2, d]', (t) => {
  t.is(BACKOFF_MAX_MS, 1_000);
  t.is(
    backoffMs(0, () => 1),
    100,
  );
  t.is(
    backoffMs(0, () => 0),
    50,
  );
  t.is(
    backoffMs(3, () => 1),
    800,
  );
  t.is(
    backoffMs(4, () => 1),
    1_000,
  );
  t.is(
    backoffMs(10, () => 1),
    BACKOFF_MAX_MS,
  );
  t.is(
    backoffMs(1000, () => 0),
    BACKOFF_MAX_MS / 2,
  );
});

test("a container killed behind the agent's back: FAILED with exit 137 reaches the manager", async (t) => {
  const { d, fx } = await agentRunningT1(t);
  const killed = Date.now();
  fx.exit('t1', 137);
  await until(() => statesSent(d, 't1').includes(TaskState.FAILED));
  measured(t, 'container exit 137 -> FAILED at the dispatcher (fake engine)', Date.now() - killed);
  t.is(d.updates.find((u) => u.taskId === 't1' && u.status?.state === TaskState.FAILED)?.status?.exitCode, 137);
});
