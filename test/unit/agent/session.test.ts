// One Session (agent/session.ts) with a FakeDispatcher on 127.0.0.1 and a manual clock: the
// heartbeat delays it chooses (the manager's period, +-10 % jitter), a report acknowledged
// within a period standing in for a heartbeat, the deadline, close().
import { credentials } from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import { DispatcherClient, NodeDescription, TaskState, type TaskStatus } from '../../../proto/gen/shoal.js';
import { StatusReporter } from '../../../agent/reporter.js';
import { heartbeatTimeoutMs, Session, type SessionInfo } from '../../../agent/session.js';
import { until } from '../../helpers/until.js';
import { dispatcher } from '../../helpers/agent-harness.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import type { FakeDispatcher } from '../../helpers/fake-dispatcher.js';

const status = (state: TaskState): TaskStatus => ({
  state,
  message: '',
  err: '',
  containerId: '',
  exitCode: 0,
  timestampMs: 0,
  addresses: [],
});

/** A session registered with `d` on a manual clock; `beats()`: Heartbeat calls made so far. */
async function session(t: ExecutionContext, d: FakeDispatcher, random: () => number) {
  const client = new DispatcherClient(d.address, credentials.createInsecure());
  t.teardown(() => client.close());
  let calls = 0;
  const heartbeat = client.heartbeat.bind(client) as (...args: unknown[]) => unknown;
  // Counted as it is made (synchronously, in the timer's callback), not when it arrives.
  (client as unknown as { heartbeat: (...args: unknown[]) => unknown }).heartbeat = (...args) => {
    calls++;
    return heartbeat(...args);
  };
  const clock = new ManualClock();
  const reporter = new StatusReporter();
  t.teardown(() => reporter.close());
  let registered!: (info: SessionInfo) => void;
  const info = new Promise<SessionInfo>((resolve) => (registered = resolve));
  const s = new Session({
    client,
    joinToken: 'tok',
    nodeId: '',
    description: NodeDescription.fromPartial({ hostname: 'host1' }),
    onAssignments: () => {},
    onRegistered: registered,
    reporter,
    random,
    clock,
  });
  const ended = s.run(new AbortController().signal);
  ended.catch(() => {});
  t.teardown(() => s.close());
  await info;
  return { s, clock, reporter, ended, beats: () => calls };
}

test("heartbeats every period +-10 %: the manager's period, jittered by the random source, changed by its answers", async (t) => {
  const d = await dispatcher(t);
  d.heartbeatPeriodMs = 100;
  const randoms = [1, 0, 0.5, 0.5];
  const { clock, beats } = await session(t, d, () => randoms.shift() ?? 0.5);
  t.deepEqual(clock.pending().map(Math.round), [110], 'random() = 1: the top of the jitter, 110 ms');
  clock.advance(clock.next() ?? 0);
  t.is(beats(), 1);
  await until(() => clock.pending().length === 1, 'the next beat, once the manager answered');
  t.deepEqual(clock.pending().map(Math.round), [90], 'random() = 0: 90 ms');
  d.heartbeatPeriodMs = 300; // the next answer carries a new period
  clock.advance(90);
  t.is(beats(), 2);
  await until(() => clock.pending().length === 1);
  t.deepEqual(clock.pending(), [300], 'the period the manager answered with');
  clock.advance(299);
  t.is(beats(), 2, 'not before its time');
  clock.advance(1);
  t.is(beats(), 3);
  await until(() => d.heartbeats.length === 3);
  t.true(d.heartbeats.every((h) => h.nodeId === 'node1' && h.sessionId === 's1'));
});

test('while status reports flow no Heartbeat call is made (the manager counts a report as one); after, heartbeats resume', async (t) => {
  const d = await dispatcher(t);
  d.heartbeatPeriodMs = 200;
  const { clock, reporter, beats } = await session(t, d, () => 0.5); // no jitter: exactly the period
  t.deepEqual(clock.pending(), [200]);
  // A report acknowledged every 150 ms for 600 ms: three periods, no Heartbeat call.
  for (let i = 1; i <= 4; i++) {
    clock.advance(150);
    reporter.report(`w${i}`, status(TaskState.RUNNING));
    await reporter.drain(60_000); // acknowledged at this clock time
  }
  t.is(d.batches.length, 4, 'four report calls');
  t.is(beats(), 0, 'no heartbeat while reports flow');
  t.deepEqual(clock.pending(), [150], 'put off by what the last report left of the period');
  clock.advance(150);
  t.is(beats(), 0);
  t.deepEqual(clock.pending(), [150], 'put off again');
  clock.advance(50); // 800 ms: a period without a report
  t.is(beats(), 1, 'heartbeats resume once reports stop');
  await until(() => clock.pending().length === 1, 'and go on every period');
  t.deepEqual(clock.pending(), [200]);
});

test('close() ends the session: run() resolves, no timer is left, a second close() is harmless', async (t) => {
  const d = await dispatcher(t);
  const { s, clock, ended } = await session(t, d, () => 0.5);
  t.is(clock.pending().length, 1);
  await s.close();
  await ended;
  t.deepEqual(clock.pending(), [], 'no heartbeat will come');
  await s.close();
});

test('heartbeat deadline: two periods, within [1 s, 5 s]', (t) => {
  t.is(heartbeatTimeoutMs(100), 1_000);
  t.is(heartbeatTimeoutMs(300), 1_000);
  t.is(heartbeatTimeoutMs(1_000), 2_000);
  t.is(heartbeatTimeoutMs(2_500), 5_000);
  t.is(heartbeatTimeoutMs(10_000), 5_000);
});
