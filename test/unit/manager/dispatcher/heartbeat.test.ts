// Node health from heartbeats, on a ManualClock the test moves (the check's interval and the
// wall-clock time heartbeats are judged by): a node is down after 3 missed periods, a
// status report counts as a heartbeat, a late check marks nothing down, the period grows
// with the number of nodes, and an agent that closed its connection gets RECONNECT_GRACE_MS.
import test from 'ava';
import { NodeStatus } from '../../../../proto/gen/shoal.js';
import { Dispatcher } from '../../../../manager/dispatcher/dispatcher.js';
import { MAX_HEARTBEATS_PER_S, RECONNECT_GRACE_MS } from '../../../../manager/dispatcher/heartbeat.js';
import { JOIN_TOKEN, nodeDescription, serveDispatcher } from '../../../helpers/dispatcher.js';
import { Core } from '../../../helpers/fixtures.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { until } from '../../../helpers/until.js';

const PEER = 'ipv4:10.0.0.5:1234';
/** Where the clock starts: it stands for the wall clock too (heartbeat and status times). */
const WALL_START = 1_000_000;

test('a node that stops beating is marked down; a late heartbeat of that session is refused, registering again makes it ready', async (t) => {
  const clock = new ManualClock({ start: WALL_START });
  const { core, client, call, register, close } = await serveDispatcher({
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  const reg = await register('h1');
  clock.advance(299); // the checks run meanwhile, every few ms
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY, 'not yet 3 periods');
  clock.advance(1);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN, 'down after 3 missed periods');
  // A heartbeat held up by a partition and delivered after it healed does not revive the node.
  const err = await t.throwsAsync(call((cb) => client.heartbeat({ nodeId: reg.nodeId, sessionId: reg.sessionId }, cb)));
  t.regex(err.message, /unknown session: register again/);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN);
  const again = await register('h1', reg.nodeId);
  t.is(again.nodeId, reg.nodeId);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  await close();
});

test('a heartbeat check that ran late (the event loop was held) marks nothing down; the next one does', async (t) => {
  const core = new Core();
  const clock = new ManualClock({ start: WALL_START });
  const dispatcher = new Dispatcher(core.state, {
    joinToken: JOIN_TOKEN,
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  dispatcher.start();
  const reg = await dispatcher.register(
    { joinToken: JOIN_TOKEN, nodeId: '', description: nodeDescription('h1') },
    PEER,
  );
  clock.stall(10_000); // overdue by far, and the check comes 10 s late: heartbeats may be queued behind it
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  clock.advance(); // the next check, on time, and still no heartbeat
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN);
  await dispatcher.close();
  t.deepEqual(clock.pending(), [], 'close stops the check');
  await core.close();
});

test('a status report counts as a heartbeat: a node that only reports stays ready, one that stops is marked down', async (t) => {
  const clock = new ManualClock({ start: WALL_START });
  const { core, client, call, register, close } = await serveDispatcher({
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  const reg = await register('h1');
  // Reports (with no updates even) every 100 ms for 1 s, no Heartbeat call: down after 300 ms without either.
  for (let i = 0; i < 10; i++) {
    await call((cb) => client.updateTaskStatus({ nodeId: reg.nodeId, sessionId: reg.sessionId, updates: [] }, cb));
    clock.advance(100);
    t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY, `ready after ${i + 1} reports`);
  }
  clock.advance(200);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN, 'down 300 ms after the last report');
  await close();
});

test('more nodes than MAX_HEARTBEATS_PER_S allows at the configured period: every agent is told a longer one, and judged by it', async (t) => {
  const core = new Core();
  const clock = new ManualClock({ start: WALL_START });
  const dispatcher = new Dispatcher(core.state, {
    joinToken: JOIN_TOKEN,
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  dispatcher.start();
  const register = (i: number) =>
    dispatcher.register({ joinToken: JOIN_TOKEN, nodeId: '', description: nodeDescription(`h${i}`) }, PEER);
  const first = await register(0);
  t.is(first.heartbeatPeriodMs, 100, 'one node: the configured period');
  const others = [];
  // 100 ms for 1,000 calls a second is 100 nodes; the 150th is told 150 ms.
  for (let i = 1; i < 150; i++) others.push(await register(i));
  t.is(others.at(-1)!.heartbeatPeriodMs, Math.ceil((150 * 1000) / MAX_HEARTBEATS_PER_S));
  const beat = await dispatcher.heartbeat({ nodeId: first.nodeId, sessionId: first.sessionId });
  t.is(beat.heartbeatPeriodMs, 150, 'the first node learns it on its next heartbeat');
  // Silent for 400 ms: more than 3 x 100, less than 3 x 150: not down.
  for (const o of others) await dispatcher.heartbeat({ nodeId: o.nodeId, sessionId: o.sessionId });
  clock.advance(400);
  t.is(core.state.nodes.get(first.nodeId)?.status, NodeStatus.READY);
  clock.advance(100);
  t.is(core.state.nodes.get(first.nodeId)?.status, NodeStatus.DOWN, 'down after 3 x 150 ms');
  await dispatcher.close();
  await core.close();
});

test('an agent that closed its connection (a restart) gets RECONNECT_GRACE_MS; a silent one (partition) is down after 3 missed heartbeats', async (t) => {
  const clock = new ManualClock({ start: WALL_START });
  const { core, client, dispatcher, register, close } = await serveDispatcher({
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  const restarting = await register('restarting');
  const silent = await register('silent');
  const streams = [restarting, silent].map((r) => {
    const s = client.assignments({ nodeId: r.nodeId, sessionId: r.sessionId });
    s.on('data', () => {});
    s.on('error', () => {});
    return s;
  });
  await until(() => dispatcher.assignmentStreamCount() === 2, 'both streams open');
  streams[0]!.cancel(); // the agent process went away: its stream is closed
  await until(() => dispatcher.assignmentStreamCount() === 1, 'the dispatcher saw the stream close');
  clock.advance(300);
  t.is(core.state.nodes.get(silent.nodeId)?.status, NodeStatus.DOWN, 'the silent one: 3 missed periods');
  t.is(core.state.nodes.get(restarting.nodeId)?.status, NodeStatus.READY, "the restarting agent's node waits for it");
  // It comes back within RECONNECT_GRACE_MS: same node, ready, nothing was marked down.
  clock.advance(RECONNECT_GRACE_MS - 300 - 1);
  t.is(
    core.state.nodes.get(restarting.nodeId)?.status,
    NodeStatus.READY,
    'still waited for, just before the grace ends',
  );
  const again = await register('restarting', restarting.nodeId);
  t.is(again.nodeId, restarting.nodeId);
  t.is(core.state.nodes.get(restarting.nodeId)?.status, NodeStatus.READY);
  streams[1]!.cancel();
  await close();
});

test('an agent that closed its connection and does not come back is down once RECONNECT_GRACE_MS is over', async (t) => {
  const clock = new ManualClock({ start: WALL_START });
  const { core, client, dispatcher, register, close } = await serveDispatcher({
    heartbeatPeriodMs: 100,
    now: () => clock.now(),
    clock,
  });
  const gone = await register('gone');
  const stream = client.assignments({ nodeId: gone.nodeId, sessionId: gone.sessionId });
  stream.on('data', () => {});
  stream.on('error', () => {});
  await until(() => dispatcher.assignmentStreamCount() === 1, 'stream open');
  stream.cancel();
  await until(() => dispatcher.assignmentStreamCount() === 0, 'the dispatcher saw the stream close');
  clock.advance(RECONNECT_GRACE_MS);
  t.is(core.state.nodes.get(gone.nodeId)?.status, NodeStatus.DOWN);
  await close();
});
