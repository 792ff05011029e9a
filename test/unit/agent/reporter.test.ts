import test from 'ava';
import { TaskState, type TaskStatus, type TaskStatusUpdate } from '../../../proto/gen/shoal.js';
import { StatusReporter, type StatusSender } from '../../../agent/reporter.js';
import { until } from '../../helpers/until.js';
import { ManualClock } from '../../helpers/manual-clock.js';

function status(state: TaskState, message = ''): TaskStatus {
  return { state, message, err: '', containerId: 'c1', exitCode: 0, timestampMs: 0, addresses: [] };
}

/** A sender that records its batches and can be told to fail. */
function recorder() {
  const batches: TaskStatusUpdate[][] = [];
  let failing = false;
  const send: StatusSender = async (updates) => {
    if (failing) throw new Error('manager unreachable');
    batches.push(updates);
  };
  return { batches, send, fail: (on: boolean) => (failing = on) };
}

test('reports within the flush interval go out in one call, latest status per task', async (t) => {
  const clock = new ManualClock();
  const r = new StatusReporter({ flushIntervalMs: 30, clock });
  const s = recorder();
  r.attach(s.send);
  r.report('t1', status(TaskState.ACCEPTED));
  r.report('t1', status(TaskState.PREPARING));
  r.report('t2', status(TaskState.ACCEPTED));
  t.deepEqual(clock.pending(), [30], 'one flush, after the interval');
  clock.advance(29);
  t.is(s.batches.length, 0, 'nothing is sent before the interval');
  clock.advance(1);
  await until(() => s.batches.length === 1);
  t.deepEqual(
    s.batches[0]?.map((u) => [u.taskId, u.status?.state]),
    [
      ['t1', TaskState.PREPARING],
      ['t2', TaskState.ACCEPTED],
    ],
  );
  await r.drain(0);
  t.deepEqual(clock.pending(), [], 'nothing more to send: no timer left');
  t.is(s.batches.length, 1);
  await r.close();
});

test('a full batch is sent at once; more than one batch is split', async (t) => {
  const r = new StatusReporter({ flushIntervalMs: 10_000, maxBatch: 500 });
  const s = recorder();
  r.attach(s.send);
  for (let i = 0; i < 1_001; i++) r.report(`t${i}`, status(TaskState.RUNNING));
  await until(() => s.batches.length === 2, 'two full batches without waiting for the timer');
  t.deepEqual(
    s.batches.map((b) => b.length),
    [500, 500],
  );
  t.is(r.backlog, 1);
  await r.close();
});

test('a failed call is retried; a newer status replaces the failed one', async (t) => {
  const clock = new ManualClock();
  const lines: string[] = [];
  const r = new StatusReporter({ flushIntervalMs: 5, retryMs: 20, clock, log: (l) => lines.push(l) });
  const s = recorder();
  s.fail(true);
  r.attach(s.send);
  r.report('t1', status(TaskState.STARTING));
  clock.advance(5); // the call goes out and fails
  await until(() => clock.pending().length === 1, 'retry scheduled');
  t.deepEqual(clock.pending(), [20], 'tried again after retryMs');
  t.deepEqual(lines, ['reporter: sending 1 status(es) failed: manager unreachable']);
  r.report('t1', status(TaskState.RUNNING));
  s.fail(false);
  clock.advance(20);
  await until(() => s.batches.length > 0);
  t.deepEqual(
    s.batches.flat().map((u) => u.status?.state),
    [TaskState.RUNNING],
  );
  await r.close();
});

test("nothing is sent while detached; after attach, every task's latest status is re-sent", async (t) => {
  const r = new StatusReporter({ flushIntervalMs: 5 });
  const first = recorder();
  r.attach(first.send);
  r.report('t1', status(TaskState.RUNNING));
  r.report('t2', status(TaskState.RUNNING));
  await until(() => first.batches.length === 1);
  r.detach(first.send);
  r.report('t2', status(TaskState.FAILED));
  r.report('t3', status(TaskState.ACCEPTED));
  r.forget('t3'); // left the set: not re-sent later, but its pending report still goes out
  t.is(r.backlog, 2, 'kept while detached');
  t.is(first.batches.length, 1, 'nothing sent while detached');

  const second = recorder();
  r.attach(second.send);
  await until(() => second.batches.length === 1);
  const sent = new Map(second.batches.flat().map((u) => [u.taskId, u.status?.state]));
  t.deepEqual(
    sent,
    new Map([
      ['t2', TaskState.FAILED],
      ['t3', TaskState.ACCEPTED],
      ['t1', TaskState.RUNNING],
    ]),
  );

  const third = recorder();
  r.detach(second.send);
  r.attach(third.send);
  await until(() => third.batches.length === 1);
  t.deepEqual(
    third.batches
      .flat()
      .map((u) => u.taskId)
      .sort(),
    ['t1', 't2'],
    'forgotten tasks are not re-sent',
  );
  await r.close();
});

test('drain() waits for pending reports, bounded by its timeout', async (t) => {
  const clock = new ManualClock();
  const r = new StatusReporter({ flushIntervalMs: 10_000, clock });
  const s = recorder();
  r.attach(s.send);
  r.report('t1', status(TaskState.RUNNING));
  await r.drain(1_000); // resolves once acknowledged: the clock never moved
  t.is(s.batches.length, 1);
  r.detach(s.send);
  r.report('t1', status(TaskState.COMPLETE));
  let drained = false;
  const draining = r.drain(50).then(() => (drained = true));
  t.deepEqual(clock.pending(), [50], 'bounded by its timeout');
  await Promise.resolve();
  t.false(drained, 'still waiting: nothing can be sent while detached');
  clock.advance(50);
  await draining;
  t.is(r.backlog, 1);
  await r.close();
  await r.close(); // idempotent
});

test('never backwards: a report below the status held for its task is dropped (canTransition)', async (t) => {
  const r = new StatusReporter({ flushIntervalMs: 10_000 });
  const s = recorder();
  r.report('t1', status(TaskState.RUNNING));
  r.report('t1', status(TaskState.STARTING, 'late'));
  r.report('t1', status(TaskState.RUNNING, 'again'));
  r.attach(s.send);
  await r.drain(1_000);
  t.deepEqual(
    s.batches.flat().map((u) => [u.status?.state, u.status?.message]),
    [[TaskState.RUNNING, 'again']],
  );
  r.forget('t1'); // left the set: a new runner of the task starts from the manager's view
  r.report('t1', status(TaskState.ACCEPTED));
  await r.drain(1_000);
  t.is(s.batches.flat().at(-1)?.status?.state, TaskState.ACCEPTED);
  await r.close();
});
