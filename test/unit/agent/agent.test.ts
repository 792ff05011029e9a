// The agent against a real grpc-js Dispatcher on 127.0.0.1 (a fake with the manager's session
// rules) and the in-memory executor: registration, heartbeats, re-registration, failover.
import test, { type ExecutionContext } from 'ava';
import { AssignmentsMessage_Kind, TaskState } from '../../../proto/gen/shoal.js';
import { Agent, backoffMs, BACKOFF_MAX_MS } from '../../../agent/agent.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';
import { FakeDispatcher } from './_fake-dispatcher.js';
import { makeTask, until, withDesired } from './_support.js';

function newAgent(t: ExecutionContext, managers: string[], fx = new FakeExecutor(), extra: Partial<ConstructorParameters<typeof Agent>[0]> = {}) {
  const agent = new Agent({
    managers,
    joinToken: 'SWMTKN-test',
    hostname: 'host1',
    labels: { zone: 'a' },
    executor: fx,
    backoffBaseMs: 20,
    backoffMaxMs: 200,
    retryMinMs: 5,
    ...extra,
  });
  t.teardown(() => agent.close());
  return agent;
}

/** A started FakeDispatcher, stopped when the test ends (also when it fails). */
async function dispatcher(t: ExecutionContext, port = 0, nodeIdForNew?: () => string): Promise<FakeDispatcher> {
  const d = new FakeDispatcher(nodeIdForNew);
  await d.start(port);
  t.teardown(() => d.stop());
  return d;
}

/** A dispatcher assigning task t1 to node1, and an agent that already runs it. */
async function agentRunningT1(t: ExecutionContext) {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1')]);
  const fx = new FakeExecutor();
  const agent = newAgent(t, [d.address], fx);
  agent.start();
  await until(() => statesSent(d, 't1').includes(TaskState.RUNNING));
  return { d, fx, agent };
}

function statesSent(d: FakeDispatcher, taskId: string): TaskState[] {
  return d.updates.filter((u) => u.taskId === taskId).map((u) => u.status?.state ?? TaskState.NEW);
}

test('registers with the engine description, heartbeats at the given period, runs its tasks', async (t) => {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1', { slot: 1 }), makeTask('t2', { slot: 2 })]);
  const fx = new FakeExecutor();
  const ids: string[] = [];
  const agent = newAgent(t, [d.address], fx, { onNodeId: (id) => void ids.push(id) });
  t.is(agent.state, 'starting');
  agent.start();
  t.is(agent.state, 'running');
  t.throws(() => agent.start(), { message: /cannot start: it is running/ });
  const info = await agent.nextRegistration();
  t.is(info.nodeId, 'node1');
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
  t.deepEqual(statesSent(d, 't1'), [
    TaskState.ACCEPTED,
    TaskState.PREPARING,
    TaskState.READY,
    TaskState.STARTING,
    TaskState.RUNNING,
  ].filter((s) => statesSent(d, 't1').includes(s)), 'in order, never backwards');
  t.true(d.batches.length < d.updates.length, `batched: ${d.updates.length} updates in ${d.batches.length} calls`);
  const running = d.updates.find((u) => u.taskId === 't1' && u.status?.state === TaskState.RUNNING);
  t.is(running?.status?.containerId, fx.byTask('t1')?.id);

  await until(() => d.heartbeats.length >= 5, 3_000, 'five heartbeats');
  const gaps = d.heartbeats.slice(1).map((h, i) => h.at - (d.heartbeats[i]?.at ?? 0));
  // Timers never fire early (90 ms is the jitter's low end); a loaded machine makes them late,
  // so the upper bound only tells the manager's 100 ms from the 1 s default.
  for (const g of gaps) t.true(g >= 80, `heartbeat gap ${g} ms for a 100 ms period`);
  const median = [...gaps].sort((x, y) => x - y)[Math.floor(gaps.length / 2)] ?? 0;
  t.true(median <= 500, `median heartbeat gap ${median} ms for a 100 ms period`);
  t.true(d.heartbeats.every((h) => h.nodeId === 'node1' && h.sessionId === 's1'));

  await agent.close();
});

test('heartbeats carry +-10 % jitter: the random source at its top gives 110 ms gaps', async (t) => {
  const d = await dispatcher(t);
  const agent = newAgent(t, [d.address], new FakeExecutor(), { random: () => 1 });
  agent.start();
  await until(() => d.heartbeats.length >= 4, 3_000, 'four heartbeats');
  const gaps = d.heartbeats.slice(1).map((h, i) => h.at - (d.heartbeats[i]?.at ?? 0));
  for (const g of gaps) t.true(g >= 105, `heartbeat gap ${g} ms, expected >= 110 ms`);
});

test('incremental assignments reach the worker: desired SHUTDOWN stops and removes', async (t) => {
  const { d, fx, agent } = await agentRunningT1(t);
  d.push('node1', { kind: AssignmentsMessage_Kind.INCREMENTAL, tasks: [withDesired(makeTask('t1'), TaskState.SHUTDOWN, TaskState.RUNNING)], removedTaskIds: [] });
  await until(() => statesSent(d, 't1').includes(TaskState.SHUTDOWN));
  await until(() => fx.byTask('t1') === undefined, 2_000, 'container removed');
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
    await until(() => d.updates.length > before, 2_000, 'statuses re-sent');
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
  const agent = newAgent(t, [deadAddress, a.address, b.address], fx);
  agent.start();
  await until(() => statesSent(a, 't1').includes(TaskState.RUNNING));
  t.is(a.registrations.length, 1);

  const next = agent.nextRegistration();
  a.stop(); // the manager dies
  const info = await next;
  t.is(info.nodeId, 'node1');
  t.is(b.registrations[0]?.nodeId, 'node1');
  await until(() => statesSent(b, 't1').includes(TaskState.RUNNING), 2_000, 'status re-sent to the new manager');
  t.is(fx.byTask('t1')?.starts, 1);
  await agent.close();
});

test('a manager that is down at first is found once it comes up (backoff, retries)', async (t) => {
  const probe = new FakeDispatcher();
  const address = await probe.start();
  const port = Number(address.split(':')[1]);
  probe.stop();
  const agent = newAgent(t, [address]);
  agent.start();
  await new Promise((r) => setTimeout(r, 300)); // several failed attempts
  const d = await dispatcher(t, port);
  await agent.nextRegistration();
  t.is(d.registrations.length, 1);
  await agent.close();
});

test('close(): stops cleanly and idempotently, containers keep running', async (t) => {
  const { d, fx, agent } = await agentRunningT1(t);
  const closing = agent.close();
  t.is(agent.state, 'stopping');
  await Promise.all([closing, agent.close()]);
  t.is(agent.state, 'stopped');
  t.is(fx.byTask('t1')?.status, 'running');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
  await new Promise((r) => setTimeout(r, 50)); // a heartbeat cancelled at close may still land
  const beats = d.heartbeats.length;
  await new Promise((r) => setTimeout(r, 250));
  t.is(d.heartbeats.length, beats, 'no heartbeats after close');
});

test('close() before the engine ever answered still stops', async (t) => {
  const fx = new FakeExecutor();
  fx.unavailableCalls = Number.MAX_SAFE_INTEGER;
  const agent = newAgent(t, ['127.0.0.1:1'], fx);
  agent.start();
  await new Promise((r) => setTimeout(r, 50));
  await agent.close();
  t.is(agent.state, 'stopped');
});

test('backoff: 100 ms doubling to 5 s, jittered within [d/2, d]', (t) => {
  t.is(backoffMs(0, () => 1), 100);
  t.is(backoffMs(0, () => 0), 50);
  t.is(backoffMs(3, () => 1), 800);
  t.is(backoffMs(10, () => 1), BACKOFF_MAX_MS);
  t.is(backoffMs(1000, () => 0), BACKOFF_MAX_MS / 2);
});
