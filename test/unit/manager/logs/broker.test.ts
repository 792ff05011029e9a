// manager/logs/broker.ts with fake agent sessions and fake calls: one subscription per node,
// lines relayed with their sources, a node down / absent / silent gives one warning and the
// stream still ends, --follow picks up new tasks and the client's cancel reaches the agents,
// the client's buffer is bounded, and an agent publishes only for its own subscriptions.
import { EventEmitter } from 'node:events';
import test from 'ava';
import {
  LogStream,
  NodeStatus,
  Service,
  Task,
  type LogOptions,
  type LogSubscription,
  type PublishLogsMessage,
  type ServiceLogsMessage,
} from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { LogBroker, type BrokerOptions } from '../../../../manager/logs/broker.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { makeNode, makeSpec } from '../../../helpers/fixtures.js';

const OPTS: LogOptions = { follow: false, tail: -1, sinceMs: 0, timestamps: false };

class FakeCall<Req, Msg> extends EventEmitter {
  written: Msg[] = [];
  ended = false;
  error: { code?: number; details?: string } | undefined;
  writableLength = 0;
  /** write() answers false (the client is slow) while set. */
  full = false;
  constructor(readonly request: Req) {
    super();
    this.on('error', (e: { code?: number; details?: string }) => (this.error = e));
  }
  write(m: Msg): boolean {
    this.written.push(m);
    if (this.full) this.writableLength++;
    return !this.full;
  }
  end(): void {
    this.ended = true;
  }
}

class FakePublish extends EventEmitter {
  paused = false;
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
}

const sessions = {
  current(nodeId: string, sessionId: string) {
    if (sessionId !== `s-${nodeId}`) throw Object.assign(new Error('unknown session: register again'), { code: 5 });
    return {};
  },
};

function setup(opts: BrokerOptions = {}) {
  const state = new ClusterState();
  for (const h of ['host1', 'host2', 'host3']) state.putNode(makeNode(h));
  const service: Service = Service.fromPartial({ id: 'svc1', spec: makeSpec('web'), specVersion: 1 });
  state.putService(service);
  const broker = new LogBroker(state, { answerMs: 200, silenceMs: 300, ...opts });
  const agents = new Map<string, FakeCall<unknown, LogSubscription>>();
  const connect = (host: string) => {
    const call = new FakeCall<unknown, LogSubscription>({ nodeId: `id-${host}`, sessionId: `s-id-${host}` });
    broker.subscriptions(call as never, sessions);
    agents.set(host, call);
    return call;
  };
  const addTask = (id: string, slot: number, host: string, state_ = TaskState.RUNNING) =>
    state.putTask(
      Task.fromPartial({
        id,
        serviceId: 'svc1',
        serviceName: 'web',
        slot,
        nodeId: `id-${host}`,
        status: { state: state_ },
      }),
    );
  const logs = (ref: string, options: Partial<LogOptions> = {}) => {
    const call = new FakeCall<unknown, ServiceLogsMessage>({ ref, options: { ...OPTS, ...options } });
    broker.serve(call as never);
    return call;
  };
  /** The agent of `host` answers its last subscription with these lines and (unless `open`) ends. */
  const answer = (
    host: string,
    lines: Array<[string, string]>,
    more: Partial<PublishLogsMessage> = {},
    open = false,
  ) => {
    const sub = agents
      .get(host)!
      .written.filter((s) => !s.cancel)
      .at(-1)!;
    const pub = new FakePublish();
    let response: unknown;
    broker.publish(pub as never, (err, res) => (response = err ?? res), sessions);
    pub.emit('data', {
      nodeId: `id-${host}`,
      sessionId: `s-id-${host}`,
      subscriptionId: sub.id,
      lines: lines.map(([taskId, text]) => ({
        taskId,
        stream: LogStream.STDOUT,
        timestamp: 'T',
        data: Buffer.from(text),
      })),
      err: '',
      ...more,
    });
    if (!open) pub.emit('end');
    return { pub, sub, response: () => response };
  };
  return { state, broker, agents, connect, addTask, logs, answer };
}

const texts = (call: FakeCall<unknown, ServiceLogsMessage>) =>
  call.written.flatMap((m) => m.lines.map((l) => Buffer.from(l.data).toString()));
const warnings = (call: FakeCall<unknown, ServiceLogsMessage>) => call.written.map((m) => m.warning).filter(Boolean);

test('fan-out: one subscription per node with its tasks; lines relayed with one source per task; ends when every node is done', (t) => {
  const b = setup();
  for (const h of ['host1', 'host2', 'host3']) b.connect(h);
  b.addTask('t1', 1, 'host1');
  b.addTask('t2', 2, 'host2');
  b.addTask('t3', 3, 'host2');
  b.addTask('t0', 0, 'host3', TaskState.PENDING); // never ran: no log
  const cli = b.logs('web', { tail: 2 });
  t.deepEqual(
    b.agents.get('host1')!.written.map((s) => s.taskIds),
    [['t1']],
  );
  t.deepEqual(
    b.agents.get('host2')!.written.map((s) => s.taskIds),
    [['t2', 't3']],
  );
  t.deepEqual(b.agents.get('host3')!.written, [], 'no running task there');
  t.is(b.agents.get('host2')!.written[0]!.options?.tail, 2);
  b.answer('host1', [['t1', 'a']]);
  t.false(cli.ended, 'host2 still reading');
  b.answer('host2', [
    ['t2', 'b'],
    ['t3', 'c'],
    ['t2', 'd'],
  ]);
  t.true(cli.ended);
  t.deepEqual(texts(cli), ['a', 'b', 'c', 'd']);
  const sources = cli.written.flatMap((m) => m.sources);
  t.deepEqual(
    sources.map((s) => `${s.serviceName}.${s.slot}@${s.nodeHostname}:${s.taskId}`),
    ['web.1@host1:t1', 'web.2@host2:t2', 'web.3@host2:t3'],
  );
  t.deepEqual(warnings(cli), []);
  t.is(b.broker.openSubscriptions, 0);
});

test('a node down, one not connected and one silent: one warning each, the others still shown, and the stream ends', async (t) => {
  const b = setup();
  b.connect('host1');
  b.connect('host2');
  b.state.putNode({ ...makeNode('host3'), status: NodeStatus.DOWN });
  b.addTask('t1', 1, 'host1');
  b.addTask('t2', 2, 'host2');
  b.addTask('t3', 3, 'host3');
  b.state.putNode(makeNode('host4'));
  b.addTask('t4', 4, 'host4');
  const cli = b.logs('web');
  b.answer('host1', [['t1', 'a']]);
  // host2 got its subscription and never answers
  await new Promise((r) => setTimeout(r, 400));
  t.true(cli.ended, 'ended after the answer deadline');
  t.deepEqual(texts(cli), ['a']);
  t.deepEqual(warnings(cli).sort(), [
    'warning: incomplete log stream: node host2 did not answer within 0.2s',
    'warning: incomplete log stream: node host3 is down',
    'warning: incomplete log stream: node host4 is not connected',
  ]);
  t.true(b.agents.get('host2')!.written.at(-1)!.cancel, 'the silent node is told to stop');
});

test('without --follow, a node that answered and then goes silent is given up after the silence deadline', async (t) => {
  const b = setup();
  b.connect('host1');
  b.addTask('t1', 1, 'host1');
  const cli = b.logs('web');
  b.answer('host1', [['t1', 'a']], {}, true);
  await new Promise((r) => setTimeout(r, 500));
  t.true(cli.ended);
  t.deepEqual(warnings(cli), ['warning: incomplete log stream: node host1 sent nothing for 0.3s']);
});

test('--follow: a new task of the service is subscribed once it starts; the client cancel reaches every agent', (t) => {
  const b = setup();
  b.connect('host1');
  b.connect('host2');
  b.addTask('t1', 1, 'host1');
  const cli = b.logs('web', { follow: true, tail: 5 });
  const first = b.answer('host1', [['t1', 'a']], {}, true);
  t.false(cli.ended);
  b.addTask('t2', 2, 'host2', TaskState.ASSIGNED);
  t.deepEqual(b.agents.get('host2')!.written, [], 'not before it starts');
  b.addTask('t2', 2, 'host2', TaskState.RUNNING);
  const sub2 = b.agents.get('host2')!.written[0]!;
  t.deepEqual(sub2.taskIds, ['t2']);
  t.is(sub2.options?.tail, -1, 'a new task: all of its output');
  b.answer('host2', [['t2', 'b']], {}, true);
  t.deepEqual(texts(cli), ['a', 'b']);
  cli.emit('cancelled');
  t.deepEqual(
    [b.agents.get('host1')!.written.at(-1), b.agents.get('host2')!.written.at(-1)].map((s) => s?.cancel),
    [true, true],
  );
  t.deepEqual(first.response(), {}, 'the publish stream is answered (the agent stops)');
  t.is(b.broker.openSubscriptions, 0);
});

test('--follow: a node that goes down warns and the stream goes on', (t) => {
  const b = setup();
  b.connect('host1');
  b.addTask('t1', 1, 'host1');
  const cli = b.logs('web', { follow: true });
  b.answer('host1', [['t1', 'a']], {}, true);
  b.state.putNode({ ...makeNode('host1'), status: NodeStatus.DOWN });
  t.deepEqual(warnings(cli), ['warning: incomplete log stream: node host1 is down']);
  t.false(cli.ended);
});

test('a slow client: publishers pause while its buffer is full and resume on drain; past the bound lines are dropped with a notice', (t) => {
  const b = setup({ maxQueued: 2 });
  b.connect('host1');
  b.addTask('t1', 1, 'host1');
  const cli = b.logs('web', { follow: true });
  cli.full = true;
  const { pub } = b.answer('host1', [['t1', 'a']], {}, true);
  t.true(pub.paused, 'paused once the client stops taking lines');
  const more = (text: string) =>
    pub.emit('data', {
      nodeId: '',
      sessionId: '',
      subscriptionId: '',
      lines: [{ taskId: 't1', stream: 0, timestamp: '', data: Buffer.from(text) }],
      err: '',
    });
  more('b');
  more('c'); // over the bound: dropped
  more('d');
  t.deepEqual(texts(cli), ['a', 'b']);
  cli.full = false;
  cli.writableLength = 0;
  cli.emit('drain');
  t.false(pub.paused);
  more('e');
  t.deepEqual(warnings(cli), ['warning: 2 log lines dropped: this client reads too slowly']);
  t.deepEqual(texts(cli), ['a', 'b', 'e']);
});

test('a task reference; an agent error is one warning; lines of tasks not asked for are not relayed', (t) => {
  const b = setup();
  b.connect('host1');
  b.addTask('abcdef1', 1, 'host1');
  b.addTask('zzz', 2, 'host1');
  const cli = b.logs('abcd');
  t.deepEqual(b.agents.get('host1')!.written[0]!.taskIds, ['abcdef1']);
  b.answer(
    'host1',
    [
      ['abcdef1', 'mine'],
      ['zzz', 'not asked'],
    ],
    { err: 'task abcdef1: its container is gone on this node' },
  );
  t.deepEqual(texts(cli), ['mine']);
  t.deepEqual(warnings(cli), [
    'warning: incomplete log stream: host1: task abcdef1: its container is gone on this node',
  ]);
  t.true(cli.ended);
});

test('refusals: unknown ref, bad --tail, a publish for another node or an unknown subscription', (t) => {
  const b = setup();
  b.connect('host1');
  b.connect('host2');
  b.addTask('t1', 1, 'host1');
  t.is(b.logs('nope').error?.details, 'no such service or task: nope');
  t.regex(b.logs('web', { tail: -5 }).error?.details ?? '', /^invalid --tail -5/);
  t.regex(b.logs('web', { sinceMs: Date.now() + 3_600_000 }).error?.details ?? '', /is in the future/);
  b.logs('web');
  const sub = b.agents.get('host1')!.written[0]!;
  const pub = new FakePublish();
  let res: { code?: number; details?: string } | undefined;
  b.broker.publish(pub as never, (err) => (res = err ?? undefined), sessions);
  pub.emit('data', { nodeId: 'id-host2', sessionId: 's-id-host2', subscriptionId: sub.id, lines: [], err: '' });
  t.is(res?.details, `log subscription ${sub.id} was not sent to node id-host2`);
  const pub2 = new FakePublish();
  b.broker.publish(pub2 as never, (err) => (res = err ?? undefined), sessions);
  pub2.emit('data', { nodeId: 'id-host1', sessionId: 's-id-host1', subscriptionId: 'nope', lines: [], err: '' });
  t.regex(res?.details ?? '', /^log subscription nope is not open/);
  const pub3 = new FakePublish();
  b.broker.publish(pub3 as never, (err) => (res = err ?? undefined), sessions);
  pub3.emit('data', { nodeId: 'id-host1', sessionId: 'old', subscriptionId: sub.id, lines: [], err: '' });
  t.regex(res?.details ?? '', /unknown session/);
});

test('a cap on subscriptions per node', (t) => {
  const b = setup({ maxPerNode: 1 });
  b.connect('host1');
  b.addTask('t1', 1, 'host1');
  b.logs('web', { follow: true });
  const second = b.logs('web', { follow: true });
  t.deepEqual(warnings(second), ['warning: incomplete log stream: node host1 has too many log streams open (1)']);
});

test('an agent that reconnects: its open subscriptions end with a warning', (t) => {
  const b = setup();
  b.connect('host1');
  b.addTask('t1', 1, 'host1');
  const cli = b.logs('web');
  b.connect('host1');
  t.deepEqual(warnings(cli), ['warning: incomplete log stream: node host1 reconnected']);
  t.true(cli.ended);
});
