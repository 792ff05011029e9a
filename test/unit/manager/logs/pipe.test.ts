// ServiceLogs through a follower (manager/controlapi/pipe.ts): two in-process managers on
// real grpc-js (127.0.0.1:0); the follower pipes the call to the leader, whose broker has the
// agents (here one fake agent on its broker); lines come back through the follower, and the
// client's cancel reaches the leader and the agent.
import { EventEmitter } from 'node:events';
import test from 'ava';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ControlClient,
  ControlService,
  LogStream,
  type LogSubscription,
  type ServiceLogsMessage,
} from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { ControlRouter, type RouterView } from '../../../../manager/controlapi/router.js';
import { logBroker } from '../../../../manager/logs/broker.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

async function serve(t: { teardown(fn: () => unknown): void }, view: RouterView) {
  const router = new ControlRouter(view);
  const server = new Server();
  server.addService(ControlService, router.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new ControlClient(address, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await router.close();
    server.forceShutdown();
  });
  return { address, client };
}

class FakeAgent extends EventEmitter {
  written: LogSubscription[] = [];
  readonly request = { nodeId: 'id-host1', sessionId: 's1' };
  write(m: LogSubscription): boolean {
    this.written.push(m);
    this.emit('sub', m);
    return true;
  }
  end(): void {}
}

const sessions = { current: () => ({}) };

async function pair(t: { teardown(fn: () => unknown): void }, withLeader = true) {
  const leaderCore = new Core([makeNode('host1')]);
  const followerCore = new Core([makeNode('host1')]);
  t.teardown(async () => {
    logBroker(leaderCore.state).close();
    await leaderCore.close();
    await followerCore.close();
  });
  await leaderCore.api.createService({ spec: makeSpec('web', { replicas: 1 }) });
  leaderCore.settle();
  leaderCore.agentsReport();
  const leader = await serve(t, { api: () => leaderCore.api, isLeader: () => true, leaderAddress: () => undefined });
  const follower = await serve(t, {
    api: () => followerCore.api,
    isLeader: () => false,
    leaderAddress: () => (withLeader ? leader.address : undefined),
  });
  const agent = new FakeAgent();
  logBroker(leaderCore.state).subscriptions(agent as never, sessions);
  return { leaderCore, follower, agent };
}

function collect(call: NodeJS.EventEmitter): Promise<{ messages: ServiceLogsMessage[]; err?: ServiceError }> {
  const messages: ServiceLogsMessage[] = [];
  return new Promise((resolve) => {
    call.on('data', (m: ServiceLogsMessage) => messages.push(m));
    call.on('error', (err: ServiceError) => resolve({ messages, err }));
    call.on('end', () => resolve({ messages }));
  });
}

test("service logs through a follower: the leader's broker answers (the follower's view has no such service)", async (t) => {
  const { leaderCore, follower, agent } = await pair(t);
  const task = leaderCore.tasksOf('web')[0]!;
  t.is(task.status?.state, TaskState.RUNNING);
  agent.once('sub', (sub: LogSubscription) => {
    const pub = new EventEmitter() as EventEmitter & { pause(): void; resume(): void };
    pub.pause = () => {};
    pub.resume = () => {};
    logBroker(leaderCore.state).publish(pub as never, () => {}, sessions);
    pub.emit('data', {
      nodeId: 'id-host1',
      sessionId: 's1',
      subscriptionId: sub.id,
      lines: [{ taskId: task.id, stream: LogStream.STDOUT, timestamp: 'T', data: Buffer.from('hello') }],
      err: '',
    });
    pub.emit('end');
  });
  const r = await collect(
    follower.client.serviceLogs({ ref: 'web', options: { follow: false, tail: -1, sinceMs: 0, timestamps: false } }),
  );
  t.is(r.err, undefined);
  t.deepEqual(
    r.messages.flatMap((m) => m.lines.map((l) => Buffer.from(l.data).toString())),
    ['hello'],
  );
  t.is(r.messages[0]?.sources[0]?.nodeHostname, 'host1');
});

test("a leader's refusal comes back through the follower as the leader gave it; the client's cancel reaches the agent", async (t) => {
  const { follower, agent } = await pair(t);
  const bad = await collect(follower.client.serviceLogs({ ref: 'nope', options: undefined }));
  t.is(bad.err?.code, status.NOT_FOUND);
  t.is(bad.err?.details, 'no such service or task: nope');
  const call = follower.client.serviceLogs({
    ref: 'web',
    options: { follow: true, tail: 0, sinceMs: 0, timestamps: false },
  });
  call.on('error', () => {});
  await new Promise((res) => agent.once('sub', res));
  call.cancel();
  for (let i = 0; i < 100 && !agent.written.some((s) => s.cancel); i++) await new Promise((r) => setTimeout(r, 10));
  t.true(
    agent.written.some((s) => s.cancel),
    'the agent is told to stop',
  );
});

test('a follower that knows no leader answers UNAVAILABLE', async (t) => {
  const { follower } = await pair(t, false);
  const r = await collect(follower.client.serviceLogs({ ref: 'web', options: undefined }));
  t.is(r.err?.code, status.UNAVAILABLE);
});
