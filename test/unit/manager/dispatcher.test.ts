// The dispatcher over a real grpc-js server on 127.0.0.1:0, with a memory store.
import test from 'ava';
import { Server, ServerCredentials, credentials, type ClientReadableStream } from '@grpc/grpc-js';
import type { AssignmentsMessage, NodeDescription } from '../../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind, DispatcherClient, DispatcherService, NodeStatus } from '../../../proto/gen/shoal.js';
import { TaskState } from '../../../proto/task-state.js';
import { Dispatcher, MAX_HEARTBEATS_PER_S, RECONNECT_GRACE_MS } from '../../../manager/dispatcher/dispatcher.js';
import { Core, makeSpec } from '../../helpers/fixtures.js';

const TOKEN = 'SHOAL-test-token';

function describe(hostname: string): NodeDescription {
  return {
    hostname,
    resources: { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3 },
    labels: {},
    engineVersion: '20.10',
    os: 'linux',
    arch: 'x86_64',
    address: '',
  };
}

async function setup(heartbeatPeriodMs = 1000) {
  const core = new Core();
  const dispatcher = new Dispatcher(core.state, { joinToken: TOKEN, heartbeatPeriodMs });
  const server = new Server();
  server.addService(DispatcherService, dispatcher.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  dispatcher.start();
  const client = new DispatcherClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const call = <T>(fn: (cb: (e: Error | null, r: T) => void) => void) =>
    new Promise<T>((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
  const close = () => {
    client.close();
    dispatcher.close();
    server.forceShutdown();
    core.close();
  };
  return { core, dispatcher, client, call, close };
}

function collect(stream: ClientReadableStream<AssignmentsMessage>): AssignmentsMessage[] {
  const got: AssignmentsMessage[] = [];
  stream.on('data', (m: AssignmentsMessage) => got.push(m));
  stream.on('error', () => {});
  return got;
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('register rejects a bad join token', async (t) => {
  const { client, call, close } = await setup();
  const err = await t.throwsAsync(
    call((cb) => client.register({ joinToken: 'wrong', nodeId: '', description: describe('h1') }, cb)),
  );
  t.regex(err.message, /invalid join token/);
  close();
});

test('full assignment set, then incremental changes, then status reports', async (t) => {
  const { core, client, call, close } = await setup();
  const reg = await call<{ nodeId: string; sessionId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: '', description: describe('h1') }, cb),
  );
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  await until(
    () => core.live('web').every((x) => x.status?.state === TaskState.ASSIGNED) && core.live('web').length === 2,
  );

  const stream = client.assignments({ nodeId: reg.nodeId, sessionId: reg.sessionId });
  const got = collect(stream);
  await until(() => got.length >= 1);
  t.is(got[0]!.kind, AssignmentsMessage_Kind.COMPLETE);
  t.is(got[0]!.tasks.length, 2);

  await core.api.scaleService({ ref: 'web', replicas: 3 });
  await until(() => got.length >= 2);
  t.is(got[1]!.kind, AssignmentsMessage_Kind.INCREMENTAL);
  t.is(got[1]!.tasks.length, 1);
  t.is(got[1]!.tasks[0]!.slot, 3);

  const task = got[1]!.tasks[0]!;
  const status = (state: TaskState) => ({
    state,
    message: '',
    err: '',
    containerId: 'c1',
    exitCode: 0,
    timestampMs: 0,
    addresses: [],
  });
  await call((cb) =>
    client.updateTaskStatus(
      {
        nodeId: reg.nodeId,
        sessionId: reg.sessionId,
        updates: [{ taskId: task.id, status: status(TaskState.RUNNING) }],
      },
      cb,
    ),
  );
  t.is(core.state.tasks.get(task.id)?.status?.state, TaskState.RUNNING);
  // A late report that would go backwards is ignored.
  await call((cb) =>
    client.updateTaskStatus(
      {
        nodeId: reg.nodeId,
        sessionId: reg.sessionId,
        updates: [{ taskId: task.id, status: status(TaskState.STARTING) }],
      },
      cb,
    ),
  );
  t.is(core.state.tasks.get(task.id)?.status?.state, TaskState.RUNNING);
  // Status reports are not echoed back to the agent.
  await new Promise((r) => setTimeout(r, 50));
  t.is(got.length, 2);

  await core.api.removeService({ ref: 'web' });
  await until(() => got.length >= 3);
  t.true(got[2]!.tasks.every((x) => x.desiredState === TaskState.REMOVE));
  stream.cancel();
  close();
});

test('a node that stops beating is marked down; a late heartbeat of that session is refused, registering again makes it ready', async (t) => {
  const { core, client, call, close } = await setup(100);
  const reg = await call<{ nodeId: string; sessionId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: '', description: describe('h1') }, cb),
  );
  await until(() => core.state.nodes.get(reg.nodeId)?.status === NodeStatus.DOWN, 2000);
  // A heartbeat held up by a partition and delivered after it healed does not revive the node.
  const err = await t.throwsAsync(call((cb) => client.heartbeat({ nodeId: reg.nodeId, sessionId: reg.sessionId }, cb)));
  t.regex(err.message, /unknown session: register again/);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN);
  const again = await call<{ nodeId: string; sessionId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: reg.nodeId, description: describe('h1') }, cb),
  );
  t.is(again.nodeId, reg.nodeId);
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  close();
});

test('a second agent with a connected node name is refused; a restarted one gets its node back', async (t) => {
  const { core, client, call, close } = await setup();
  const first = await call<{ nodeId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: '', description: describe('h1') }, cb),
  );
  const err = await t.throwsAsync(
    call((cb) => client.register({ joinToken: TOKEN, nodeId: '', description: describe('h1') }, cb)),
  );
  t.regex(err.message, /a node named "h1" is already connected/);
  const again = await call<{ nodeId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: first.nodeId, description: describe('h1') }, cb),
  );
  t.is(again.nodeId, first.nodeId);
  t.is(core.state.nodes.size, 1);
  close();
});

test('a heartbeat check that ran late (the event loop was held) marks nothing down; the next one does', async (t) => {
  const core = new Core();
  let clock = 1_000_000;
  const dispatcher = new Dispatcher(core.state, { joinToken: TOKEN, heartbeatPeriodMs: 100, now: () => clock });
  const reg = await dispatcher.register(
    { joinToken: TOKEN, nodeId: '', description: describe('h1') },
    'ipv4:10.0.0.5:1234',
  );
  const internals = dispatcher as unknown as { checkHeartbeats(): void; lastCheckAt: number };
  clock += 10_000; // overdue by far
  internals.lastCheckAt = performance.now() - 2_000; // this check comes 2 s late: heartbeats may be queued
  internals.checkHeartbeats();
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY);
  internals.checkHeartbeats(); // on time, and still no heartbeat
  t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.DOWN);
  dispatcher.close();
  core.close();
});

test('a status report counts as a heartbeat: a node that only reports stays ready, one that stops is marked down', async (t) => {
  const { core, client, call, close } = await setup(100);
  const reg = await call<{ nodeId: string; sessionId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: '', description: describe('h1') }, cb),
  );
  // Reports (with no updates even) every 100 ms for 1 s, no Heartbeat call: down after 300 ms without either.
  for (let i = 0; i < 10; i++) {
    await call((cb) => client.updateTaskStatus({ nodeId: reg.nodeId, sessionId: reg.sessionId, updates: [] }, cb));
    await new Promise((r) => setTimeout(r, 100));
    t.is(core.state.nodes.get(reg.nodeId)?.status, NodeStatus.READY, `ready after ${i + 1} reports`);
  }
  await until(() => core.state.nodes.get(reg.nodeId)?.status === NodeStatus.DOWN, 2000);
  t.pass();
  close();
});

test('more nodes than MAX_HEARTBEATS_PER_S allows at the configured period: every agent is told a longer one, and judged by it', async (t) => {
  const core = new Core();
  let clock = 1_000_000;
  const dispatcher = new Dispatcher(core.state, { joinToken: TOKEN, heartbeatPeriodMs: 100, now: () => clock });
  const internals = dispatcher as unknown as { checkHeartbeats(): void; lastCheckAt: number };
  const first = await dispatcher.register(
    { joinToken: TOKEN, nodeId: '', description: describe('h0') },
    'ipv4:10.0.0.5:1234',
  );
  t.is(first.heartbeatPeriodMs, 100, 'one node: the configured period');
  let last = first;
  // 100 ms for 1,000 calls a second is 100 nodes; the 150th is told 150 ms.
  for (let i = 1; i < 150; i++)
    last = await dispatcher.register(
      { joinToken: TOKEN, nodeId: '', description: describe(`h${i}`) },
      'ipv4:10.0.0.5:1234',
    );
  t.is(last.heartbeatPeriodMs, Math.ceil((150 * 1000) / MAX_HEARTBEATS_PER_S));
  const beat = await dispatcher.heartbeat({ nodeId: first.nodeId, sessionId: first.sessionId });
  t.is(beat.heartbeatPeriodMs, 150, 'the first node learns it on its next heartbeat');
  // Silent for 400 ms: more than 3 x 100, less than 3 x 150: not down.
  for (const id of core.state.nodes.keys())
    if (id !== first.nodeId)
      await dispatcher.heartbeat({
        nodeId: id,
        sessionId: (dispatcher as unknown as { sessions: Map<string, { id: string }> }).sessions.get(id)!.id,
      });
  clock += 400;
  internals.lastCheckAt = performance.now();
  internals.checkHeartbeats();
  t.is(core.state.nodes.get(first.nodeId)?.status, NodeStatus.READY);
  clock += 100;
  internals.lastCheckAt = performance.now();
  internals.checkHeartbeats();
  t.is(core.state.nodes.get(first.nodeId)?.status, NodeStatus.DOWN, 'down after 3 x 150 ms');
  dispatcher.close();
  core.close();
});

test('an agent that closed its connection (a restart) gets RECONNECT_GRACE_MS; a silent one (partition) is down after 3 missed heartbeats', async (t) => {
  const { core, client, call, close } = await setup(100);
  const reg = (name: string) =>
    call<{ nodeId: string; sessionId: string }>((cb) =>
      client.register({ joinToken: TOKEN, nodeId: '', description: describe(name) }, cb),
    );
  const restarting = await reg('restarting');
  const silent = await reg('silent');
  const streams = [restarting, silent].map((r) => {
    const s = client.assignments({ nodeId: r.nodeId, sessionId: r.sessionId });
    collect(s);
    return s;
  });
  await new Promise((r) => setTimeout(r, 50));
  const stoppedAt = Date.now();
  streams[0]!.cancel(); // the agent process went away: its stream is closed
  await until(() => core.state.nodes.get(silent.nodeId)?.status === NodeStatus.DOWN, 2_000);
  t.is(core.state.nodes.get(restarting.nodeId)?.status, NodeStatus.READY, "the restarting agent's node waits for it");
  t.true(Date.now() - stoppedAt < RECONNECT_GRACE_MS);
  // It comes back in time: same node, ready, nothing was marked down.
  const again = await call<{ nodeId: string; sessionId: string }>((cb) =>
    client.register({ joinToken: TOKEN, nodeId: restarting.nodeId, description: describe('restarting') }, cb),
  );
  t.is(again.nodeId, restarting.nodeId);
  t.is(core.state.nodes.get(restarting.nodeId)?.status, NodeStatus.READY);
  streams[1]!.cancel();
  close();
});
