// The agent against a real grpc-js Dispatcher on 127.0.0.1 (a fake with the manager's session
// rules) and the in-memory executor: registration, heartbeats, re-registration, failover.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { AssignmentsMessage_Kind, TaskState } from '../../../proto/gen/shoal.js';
import { Agent } from '../../../agent/agent.js';
import { backoffMs, BACKOFF_MAX_MS } from '../../../agent/backoff.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';
import { FakeDispatcher } from '../../helpers/fake-dispatcher.js';
import { makeTask, measured, until, withDesired } from '../../helpers/agent-support.js';

function newAgent(
  t: ExecutionContext,
  managers: string[],
  fx = new FakeExecutor(),
  extra: Partial<ConstructorParameters<typeof Agent>[0]> = {},
) {
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
  t.is(agent.state, 'new');
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
  await until(() => d.heartbeats.length >= 4, 'four heartbeats');
  const gaps = d.heartbeats.slice(1).map((h, i) => h.at - (d.heartbeats[i]?.at ?? 0));
  for (const g of gaps) t.true(g >= 105, `heartbeat gap ${g} ms, expected >= 110 ms`);
});

test('incremental assignments reach the worker: desired SHUTDOWN stops and removes', async (t) => {
  const { d, fx, agent } = await agentRunningT1(t);
  d.push('node1', {
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [withDesired(makeTask('t1'), TaskState.SHUTDOWN, TaskState.RUNNING)],
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
  const agent = newAgent(t, [deadAddress, a.address, b.address], fx);
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

// ---------------------------------------------------------------- manager HA

/** An agent with the real reconnect timing (backoff 100 ms..1 s, connect timeout 1 s). */
function realTimedAgent(
  t: ExecutionContext,
  managers: string[],
  fx = new FakeExecutor(),
  extra: Partial<ConstructorParameters<typeof Agent>[0]> = {},
) {
  return newAgent(t, managers, fx, { backoffBaseMs: undefined, backoffMaxMs: undefined, ...extra });
}

/** Three managers: the first leads, the others are followers. */
async function cluster(t: ExecutionContext) {
  const managers = [
    await dispatcher(t),
    await dispatcher(t, 0, () => 'unused'),
    await dispatcher(t, 0, () => 'unused'),
  ] as const;
  managers[1].leader = false;
  managers[2].leader = false;
  return managers;
}

test('followers refuse with UNAVAILABLE: the next address is tried at once, no backoff within a round', async (t) => {
  const [leader, f1, f2] = await cluster(t);
  // Any backoff at all would take >= 2.5 s here (5 s, jittered down to half at most).
  const agent = newAgent(t, [f1.address, f2.address, leader.address], new FakeExecutor(), {
    backoffBaseMs: 5_000,
    backoffMaxMs: 5_000,
  });
  const started = Date.now();
  agent.start();
  await agent.nextRegistration();
  const took = Date.now() - started;
  measured(t, 'register through two refusing followers (no backoff within a round)', took);
  t.true(took < 2_000, `took ${took} ms`);
  t.is(f1.refused.length, 1);
  t.is(f2.refused.length, 1);
  t.is(leader.registrations.length, 1);
});

test('every manager refuses: whole rounds back off, 100 ms doubling, capped at 1 s', async (t) => {
  const [a, b, c] = await cluster(t);
  a.leader = false;
  realTimedAgent(t, [a.address, b.address, c.address], new FakeExecutor(), { random: () => 1 }).start();
  await until(() => c.refused.length >= 7, 'seven rounds');
  // The pause between the end of a round (its last address) and the next: random() = 1 is the
  // top of the jitter, so 100, 200, 400, 800, then 1000 ms. Timers never fire early; a loaded
  // machine makes them late, hence the slack above.
  const pauses = a.refused.slice(1, 7).map((at, i) => at - (c.refused[i] ?? 0));
  t.log(`pauses between rounds: ${pauses.join(', ')} ms`);
  [100, 200, 400, 800, 1_000, 1_000].forEach((expected, i) => {
    const p = pauses[i] ?? 0;
    t.true(p >= expected - 5 && p < expected + 600, `pause ${i}: ${p} ms, expected ${expected} ms`);
  });
});

test('leader dies, a follower is elected 1.5 s later: the agent is with it within ~1 s, tasks untouched', async (t) => {
  const [a, b, c] = await cluster(t);
  a.tasks.set('node1', [makeTask('t1')]);
  c.tasks.set('node1', [withDesired(makeTask('t1'), TaskState.RUNNING, TaskState.RUNNING)]);
  const fx = new FakeExecutor();
  const agent = realTimedAgent(t, [a.address, b.address, c.address], fx);
  agent.start();
  await until(() => statesSent(a, 't1').includes(TaskState.RUNNING));

  const next = agent.nextRegistration();
  a.stop(); // crashed: its connections fail at once
  await new Promise((r) => setTimeout(r, 1_500));
  t.is(fx.byTask('t1')?.status, 'running', 'no manager: the container keeps running');
  const elected = Date.now();
  c.leader = true;
  const info = await next;
  const took = Date.now() - elected;
  measured(t, 'leader crashed -> registered with the new leader, after its election', took);
  t.true(took < 2_000, `took ${took} ms (rounds at most 1 s apart)`);
  t.is(info.nodeId, 'node1');
  t.is(c.registrations[0]?.nodeId, 'node1');
  t.true(b.refused.length >= 2, 'the follower was asked in every round');
  await until(() => statesSent(c, 't1').includes(TaskState.RUNNING), 'status re-sent to the new leader');
  t.is(fx.byTask('t1')?.starts, 1, 'not restarted');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
});

test('leader steps down (streams fail UNAVAILABLE): the agent moves to the new leader at once', async (t) => {
  const [a, b] = await cluster(t);
  const agent = realTimedAgent(t, [a.address, b.address]);
  agent.start();
  await agent.nextRegistration();
  await until(() => a.openStreams() === 1);
  const next = agent.nextRegistration();
  const changed = Date.now();
  b.leader = true;
  a.stepDown();
  await next;
  const took = Date.now() - changed;
  measured(t, 'leader stepped down -> registered with the new leader', took);
  t.true(took < 1_000, `took ${took} ms`);
  t.is(b.registrations.length, 1);
});

test('a stalled leader (partitioned: nothing answers) is left after the heartbeat deadline', async (t) => {
  const [a, b] = await cluster(t);
  a.heartbeatPeriodMs = 300; // deadline: two periods, at least 1 s
  const agent = realTimedAgent(t, [a.address, b.address]);
  agent.start();
  await agent.nextRegistration();
  await until(() => a.heartbeats.length >= 2);
  const next = agent.nextRegistration();
  const stalled = Date.now();
  a.stalled = true;
  b.leader = true;
  await next;
  const took = Date.now() - stalled;
  measured(t, 'leader stalled -> registered with the next manager (heartbeat 300 ms, deadline 1 s)', took);
  t.true(took >= 900 && took < 3_000, `took ${took} ms`);
});

test('a manager that takes the connection but never answers (frozen host) is skipped after 1 s', async (t) => {
  const held = new Set<Socket>();
  const frozen = createServer((sock) => void held.add(sock)); // TCP accepted, no HTTP/2 handshake
  await new Promise<void>((resolve) => frozen.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const s of held) s.destroy();
    frozen.close();
  });
  const port = (frozen.address() as AddressInfo).port;
  const d = await dispatcher(t);
  const agent = realTimedAgent(t, [`127.0.0.1:${port}`, d.address]);
  const started = Date.now();
  agent.start();
  await agent.nextRegistration();
  const took = Date.now() - started;
  measured(t, 'frozen first manager skipped -> registered with the second (connect timeout 1 s)', took);
  t.true(took >= 900 && took < 2_500, `took ${took} ms (connect timeout 1 s, not the 5 s Register deadline)`);
});

test('partition: containers keep running; an exit meanwhile is reported after it, replaced tasks are stopped', async (t) => {
  const [a, b] = await cluster(t);
  const t1 = makeTask('t1', { slot: 1 });
  const t2 = makeTask('t2', { slot: 2, spec: { stopGracePeriodMs: 2_500 } });
  const t3 = makeTask('t3', { slot: 3, spec: { stopGracePeriodMs: 0 } });
  a.tasks.set('node1', [t1, t2, t3]);
  const fx = new FakeExecutor();
  const agent = realTimedAgent(t, [a.address, b.address], fx);
  agent.start();
  await until(() => ['t1', 't2', 't3'].every((id) => statesSent(a, id).includes(TaskState.RUNNING)));

  const next = agent.nextRegistration();
  a.stop(); // no manager reachable (b is a follower)
  await new Promise((r) => setTimeout(r, 1_200));
  fx.exit('t1', 3); // while the agent is cut off
  await new Promise((r) => setTimeout(r, 300));
  t.is(fx.byTask('t2')?.status, 'running');
  t.is(fx.byTask('t3')?.status, 'running');
  t.false(
    fx.ops.some((o) => o.startsWith('stop') || o.startsWith('remove')),
    'nothing stopped while cut off',
  );

  // The partition heals; the manager (now b) replaced t2 and t3 elsewhere meanwhile.
  b.tasks.set('node1', [
    withDesired(t1, TaskState.RUNNING, TaskState.RUNNING),
    withDesired(t2, TaskState.SHUTDOWN, TaskState.RUNNING),
    withDesired(t3, TaskState.SHUTDOWN, TaskState.RUNNING),
  ]);
  b.leader = true;
  await next;
  await until(() => statesSent(b, 't1').includes(TaskState.FAILED), 't1 FAILED reported');
  const failed = b.updates.find((u) => u.taskId === 't1' && u.status?.state === TaskState.FAILED);
  t.is(failed?.status?.exitCode, 3);
  await until(() => fx.byTask('t2') === undefined && fx.byTask('t3') === undefined, 'replaced tasks removed');
  t.deepEqual(fx.opsOf('t2'), ['create', 'start', 'stop', 'remove']);
  await until(
    () => statesSent(b, 't2').includes(TaskState.SHUTDOWN) && statesSent(b, 't3').includes(TaskState.SHUTDOWN),
  );
  t.is(fx.ops.filter((o) => o.startsWith('create')).length, 3, 'nothing created again');
  t.truthy(fx.byTask('t1'), 'the failed task keeps its container while desired RUNNING');
  t.deepEqual(
    [t2, t3].map((x) => fx.stopped.get(x.id)),
    [2_500, 0],
    "each stopped with its spec's grace period (0 means 0)",
  );
});

test("a container killed behind the agent's back: FAILED with exit 137 reaches the manager at once", async (t) => {
  const { d, fx } = await agentRunningT1(t);
  await new Promise((r) => setTimeout(r, 100)); // the RUNNING batch is out
  const killed = Date.now();
  fx.exit('t1', 137);
  await until(() => statesSent(d, 't1').includes(TaskState.FAILED));
  const took = Date.now() - killed;
  measured(t, 'container exit 137 -> FAILED at the dispatcher (fake engine)', took);
  t.true(took < 500, `took ${took} ms`);
  t.is(d.updates.find((u) => u.taskId === 't1' && u.status?.state === TaskState.FAILED)?.status?.exitCode, 137);
});

test('while status reports flow no Heartbeat call is made (the manager counts a report as one); after, heartbeats resume', async (t) => {
  const d = await dispatcher(t);
  d.heartbeatPeriodMs = 200;
  d.tasks.set('node1', [makeTask('t1')]);
  const agent = newAgent(t, [d.address]);
  agent.start();
  await until(() => statesSent(d, 't1').includes(TaskState.RUNNING));
  const beatsBefore = d.heartbeats.length;
  const batchesBefore = d.batches.length;
  // A new task every 40 ms for 1.2 s: its reports go out in 50 ms batches.
  for (let i = 0; i < 30; i++) {
    d.push('node1', { kind: AssignmentsMessage_Kind.INCREMENTAL, tasks: [makeTask(`w${i}`)], removedTaskIds: [] });
    await new Promise((r) => setTimeout(r, 40));
  }
  const beats = d.heartbeats.length - beatsBefore;
  const batches = d.batches.length - batchesBefore;
  t.log(
    `measured: ${batches} report calls and ${beats} heartbeats in 1.2 s (period 200 ms: 6 heartbeats without reports)`,
  );
  t.true(batches >= 10, `${batches} report calls`);
  t.true(beats <= 2, `${beats} heartbeats while reports flowed`);
  await until(() => d.heartbeats.length >= beatsBefore + beats + 3, 'heartbeats again once reports stop');
});
