// The agent with several managers (agent/agent.ts' connection loop): followers refuse, whole
// rounds back off (cockatiel, 100 ms doubling to 1 s, jittered), a leader that dies, steps
// down, stalls or is partitioned away. Each test asserts the pauses the agent chose (from
// Agent.onBackoff) and why it left a manager (its log), not how long it took.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'ava';
import { TaskState, type TaskStatus } from '../../../proto/gen/shoal.js';
import { BACKOFF_MAX_MS } from '../../../agent/backoff.js';
import { heartbeatTimeoutMs } from '../../../agent/session.js';
import type { TaskObserver } from '../../../agent/worker.js';
import { makeTask, measured, withDesired } from '../../helpers/agent-support.js';
import { until } from '../../helpers/until.js';
import { cluster, dispatcher, newAgent, realTimedAgent, statesSent } from '../../helpers/agent-harness.js';
import { FakeExecutor } from '../../helpers/fake-executor.js';

test('followers refuse with UNAVAILABLE: the next address is tried at once, no backoff within a round', async (t) => {
  const [leader, f1, f2] = await cluster(t);
  const { agent, backoffs } = newAgent(t, [f1.address, f2.address, leader.address], new FakeExecutor(), {
    backoffBaseMs: 5_000,
    backoffMaxMs: 5_000,
  });
  const started = Date.now();
  agent.start();
  await agent.nextRegistration();
  measured(t, 'register through two refusing followers (no backoff within a round)', Date.now() - started);
  t.deepEqual(backoffs, [], 'no pause: the round had not failed yet');
  t.is(f1.refused.length, 1);
  t.is(f2.refused.length, 1);
  t.is(leader.registrations.length, 1);
});

test('every manager refuses: whole rounds back off, 100 ms doubling, capped at 1 s', async (t) => {
  const [a, b, c] = await cluster(t);
  a.leader = false;
  const { agent, backoffs } = realTimedAgent(t, [a.address, b.address, c.address], new FakeExecutor(), {
    random: () => 1, // the top of the jitter: the ceilings themselves
  });
  /** Refusals per manager when each pause began: a pause comes only after a whole round. */
  const refusedAtPause: number[][] = [];
  agent.onBackoff(() => refusedAtPause.push([a, b, c].map((d) => d.refused.length)));
  agent.start();
  await until(() => backoffs.length >= 6, 'six failed rounds');
  t.deepEqual(
    backoffs.slice(0, 6).map((e) => [e.what, e.attempt, e.delayMs]),
    [
      ['managers', 1, 100],
      ['managers', 2, 200],
      ['managers', 3, 400],
      ['managers', 4, 800],
      ['managers', 5, 1_000],
      ['managers', 6, 1_000],
    ],
  );
  t.deepEqual(
    refusedAtPause.slice(0, 6),
    [1, 2, 3, 4, 5, 6].map((k) => [k, k, k]),
    'each pause after every manager refused once more',
  );
});

test('leader dies, a follower is elected later: the agent asks every manager at least once a second, tasks untouched', async (t) => {
  const [a, b, c] = await cluster(t);
  a.tasks.set('node1', [makeTask('t1')]);
  c.tasks.set('node1', [withDesired(makeTask('t1'), TaskState.RUNNING, TaskState.RUNNING)]);
  const fx = new FakeExecutor();
  const { agent, backoffs } = realTimedAgent(t, [a.address, b.address, c.address], fx);
  agent.start();
  await until(() => statesSent(a, 't1').includes(TaskState.RUNNING));

  const next = agent.nextRegistration();
  a.stop(); // crashed: its connections fail at once
  await until(() => backoffs.length >= 3, 'three failed rounds: no manager leads');
  t.is(fx.byTask('t1')?.status, 'running', 'no manager: the container keeps running');
  const elected = Date.now();
  c.leader = true;
  const info = await next;
  measured(t, 'leader crashed -> registered with the new leader, after its election', Date.now() - elected);
  t.true(
    backoffs.every((e) => e.what === 'managers' && e.delayMs <= BACKOFF_MAX_MS),
    `rounds at most ${BACKOFF_MAX_MS} ms apart: ${backoffs.map((e) => e.delayMs).join(', ')}`,
  );
  t.is(info.nodeId, 'node1');
  t.is(c.registrations[0]?.nodeId, 'node1');
  t.true(b.refused.length >= 3, 'the follower was asked in every round');
  await until(() => statesSent(c, 't1').includes(TaskState.RUNNING), 'status re-sent to the new leader');
  t.is(fx.byTask('t1')?.starts, 1, 'not restarted');
  t.deepEqual(fx.opsOf('t1'), ['create', 'start']);
});

test('leader steps down (streams fail UNAVAILABLE): the agent moves to the new leader at once', async (t) => {
  const [a, b] = await cluster(t);
  const { agent, backoffs, lines } = realTimedAgent(t, [a.address, b.address]);
  agent.start();
  await agent.nextRegistration();
  await until(() => a.openStreams() === 1);
  const next = agent.nextRegistration();
  const changed = Date.now();
  b.leader = true;
  a.stepDown();
  await next;
  measured(t, 'leader stepped down -> registered with the new leader', Date.now() - changed);
  t.deepEqual(backoffs, [], 'no pause');
  t.is(b.registrations.length, 1);
  t.is(a.refused.length, 0, 'straight to the next address, not the old leader again');
  // The stream (or a heartbeat in flight, whichever the manager answered first) said UNAVAILABLE.
  t.true(
    lines.some((l) => l.startsWith(`agent: session with ${a.address} ended: `) && l.includes(': UNAVAILABLE: ')),
    lines.join('\n'),
  );
});

test('a stalled leader (partitioned: nothing answers) is left after the heartbeat deadline', async (t) => {
  const [a, b] = await cluster(t);
  a.heartbeatPeriodMs = 300; // deadline: two periods, at least 1 s
  const { agent, backoffs, lines } = realTimedAgent(t, [a.address, b.address]);
  agent.start();
  await agent.nextRegistration();
  await until(() => a.heartbeats.length >= 2);
  const next = agent.nextRegistration();
  const stalled = Date.now();
  a.stalled = true;
  b.leader = true;
  await next;
  measured(
    t,
    'leader stalled -> registered with the next manager (heartbeat 300 ms, deadline 1 s)',
    Date.now() - stalled,
  );
  t.is(heartbeatTimeoutMs(300), 1_000, 'the deadline for a 300 ms period');
  t.true(
    lines.some((l) => l.startsWith(`agent: session with ${a.address} ended: Heartbeat: DEADLINE_EXCEEDED`)),
    lines.join('\n'),
  );
  t.deepEqual(backoffs, [], 'then straight to the next manager');
  t.is(b.registrations.length, 1);
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
  const { agent, backoffs, lines } = realTimedAgent(t, [`127.0.0.1:${port}`, d.address]);
  const started = Date.now();
  agent.start();
  await agent.nextRegistration();
  measured(t, 'frozen first manager skipped -> registered with the second (connect timeout 1 s)', Date.now() - started);
  t.true(
    lines.includes(`agent: 127.0.0.1:${port}: connect: no connection within 1000 ms`),
    `the connect timeout (1 s), not the 5 s Register deadline:\n${lines.join('\n')}`,
  );
  t.deepEqual(backoffs, [], 'the second manager in the same round');
  t.is(d.registrations.length, 1);
});

test('partition: containers keep running; an exit meanwhile is reported after it, replaced tasks are stopped', async (t) => {
  const [a, b] = await cluster(t);
  const t1 = makeTask('t1', { slot: 1 });
  const t2 = makeTask('t2', { slot: 2, spec: { stopGracePeriodMs: 2_500 } });
  const t3 = makeTask('t3', { slot: 3, spec: { stopGracePeriodMs: 0 } });
  a.tasks.set('node1', [t1, t2, t3]);
  const fx = new FakeExecutor();
  const seen: Array<[string, TaskStatus]> = [];
  const observer: TaskObserver = { status: (id, _s, st) => void seen.push([id, st]), stopping() {}, gone() {} };
  const { agent, backoffs } = realTimedAgent(t, [a.address, b.address], fx, { taskObserver: observer });
  agent.start();
  await until(() => ['t1', 't2', 't3'].every((id) => statesSent(a, id).includes(TaskState.RUNNING)));

  const next = agent.nextRegistration();
  a.stop(); // no manager reachable (b is a follower)
  await until(() => backoffs.length >= 1, 'cut off: a whole round failed');
  fx.exit('t1', 3); // while the agent is cut off
  await until(() => seen.some(([id, st]) => id === 't1' && st.state === TaskState.FAILED), 't1 FAILED seen here');
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
