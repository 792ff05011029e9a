// agent/logs/follower.ts with a fake Dispatcher client and a fake reader: each subscription
// gets one PublishLogs stream whose first message names node, session and subscription, then
// the tasks' lines; a task that cannot be read gets an err; cancel and the manager's answer
// stop the reads; stop() cancels the LogSubscriptions stream.
import { EventEmitter } from 'node:events';
import test from 'ava';
import { LogStream, type LogOptions, type PublishLogsMessage } from '../../../../proto/gen/shoal.js';
import { LogFollower } from '../../../../agent/logs/follower.js';
import { TaskLogError, type LineSink, type LogReader } from '../../../../agent/logs/docker.js';

class FakeSubs extends EventEmitter {
  cancelled = false;
  cancel(): void {
    this.cancelled = true;
  }
}

class FakePublish extends EventEmitter {
  written: PublishLogsMessage[] = [];
  ended = false;
  writableLength = 0;
  writableNeedDrain = false;
  constructor(readonly answer: (err: unknown) => void) {
    super();
  }
  write(m: PublishLogsMessage): boolean {
    this.written.push(m);
    return true;
  }
  end(): void {
    this.ended = true;
    this.answer(null);
  }
}

function client() {
  const subs: FakeSubs[] = [];
  const publishes: FakePublish[] = [];
  const c = {
    logSubscriptions: () => {
      const s = new FakeSubs();
      subs.push(s);
      return s;
    },
    publishLogs: (cb: (err: unknown) => void) => {
      const p = new FakePublish(cb);
      publishes.push(p);
      return p;
    },
  };
  return { c, subs, publishes };
}

/** Lines "<task> line N" per task; "gone" has no container; "slow" waits for the abort (a follow). */
const reader: LogReader = {
  async read(taskId: string, options: LogOptions, sink: LineSink, signal: AbortSignal) {
    if (taskId === 'gone') throw new TaskLogError(`task ${taskId}: its container is gone on this node`);
    const n = options.tail >= 0 ? options.tail : 3;
    sink.lines(
      Array.from({ length: n }, (_, i) => ({
        taskId,
        stream: LogStream.STDOUT,
        timestamp: 'T',
        data: Buffer.from(`${taskId} line ${i + 1}`),
      })),
    );
    if (taskId === 'slow') await new Promise((res) => signal.addEventListener('abort', res, { once: true }));
  },
};

const until = async (cond: () => boolean) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
};
const texts = (p: FakePublish) => p.written.flatMap((m) => m.lines.map((l) => Buffer.from(l.data).toString()));

test('a subscription: first message names node, session and subscription; the tasks lines follow; an unreadable task gets an err; then it ends', async (t) => {
  const { c, subs, publishes } = client();
  const f = new LogFollower({ reader });
  const stop = f.follow(c as never, { nodeId: 'n1', sessionId: 's1' });
  subs[0]!.emit('data', {
    id: 'sub1',
    taskIds: ['a', 'gone', 'b'],
    options: { follow: false, tail: 2, sinceMs: 0, timestamps: false },
    cancel: false,
  });
  await until(() => publishes[0]?.ended === true);
  const p = publishes[0]!;
  t.deepEqual(p.written[0], { nodeId: 'n1', sessionId: 's1', subscriptionId: 'sub1', lines: [], err: '' });
  t.deepEqual(texts(p), ['a line 1', 'a line 2', 'b line 1', 'b line 2']);
  t.deepEqual(p.written.map((m) => m.err).filter(Boolean), ['task gone: its container is gone on this node']);
  t.true(p.ended);
  stop();
  t.true(subs[0]!.cancelled);
});

test('follow: reads go on until the manager cancels the subscription', async (t) => {
  const { c, subs, publishes } = client();
  const f = new LogFollower({ reader });
  f.follow(c as never, { nodeId: 'n1', sessionId: 's1' });
  subs[0]!.emit('data', {
    id: 'sub1',
    taskIds: ['slow'],
    options: { follow: true, tail: 1, sinceMs: 0, timestamps: false },
    cancel: false,
  });
  await until(() => texts(publishes[0]!).length === 1);
  t.false(publishes[0]!.ended);
  subs[0]!.emit('data', { id: 'sub1', taskIds: [], cancel: true });
  await until(() => publishes[0]!.ended);
  t.true(publishes[0]!.ended);
  f.close();
});

test('follow: the manager answering the publish stream (it stopped) stops the read too', async (t) => {
  const { c, subs, publishes } = client();
  const f = new LogFollower({ reader });
  f.follow(c as never, { nodeId: 'n1', sessionId: 's1' });
  subs[0]!.emit('data', {
    id: 'sub1',
    taskIds: ['slow'],
    options: { follow: true, tail: 1, sinceMs: 0, timestamps: false },
    cancel: false,
  });
  await until(() => texts(publishes[0]!).length === 1);
  publishes[0]!.answer(null);
  await until(() => publishes[0]!.ended);
  t.true(publishes[0]!.ended);
  f.close();
});

test('a broken LogSubscriptions stream is opened again; UNIMPLEMENTED is not retried; without a reader every task gets an err', async (t) => {
  const { c, subs, publishes } = client();
  const f = new LogFollower({ reader: undefined, retryMs: 10 });
  f.follow(c as never, { nodeId: 'n1', sessionId: 's1' });
  subs[0]!.emit('error', Object.assign(new Error('gone'), { code: 14, details: 'gone' }));
  await until(() => subs.length === 2);
  t.is(subs.length, 2);
  subs[1]!.emit('data', { id: 'x', taskIds: ['a'], options: undefined, cancel: false });
  await until(() => publishes[0]?.ended === true);
  t.deepEqual(publishes[0]!.written.map((m) => m.err).filter(Boolean), ["task a: this node's engine cannot read logs"]);
  subs[1]!.emit('error', Object.assign(new Error('no'), { code: 12, details: 'no' }));
  await new Promise((r) => setTimeout(r, 50));
  t.is(subs.length, 2, 'a manager without logs: not asked again');
  f.close();
});
