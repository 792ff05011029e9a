import test from 'ava';
import { MemoryStore } from '../../../../manager/store/memory-store.js';
import { MAX_TXNS_IN_FLIGHT, Writer } from '../../../../manager/store/writer.js';
import type { WriteOp } from '../../../../manager/store/store.js';
import { NotLeaderError } from '../../../../manager/store/store.js';
import { turns, until } from '../../../helpers/until.js';

test('batches writes into transactions of at most 128 operations', async (t) => {
  const store = new MemoryStore();
  const sizes: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (ops: WriteOp[]) => {
    sizes.push(ops.length);
    await commit(ops);
  };
  const w = new Writer(store);
  for (let i = 0; i < 1000; i++) w.put('tasks', `t${i}`, `{"i":${i}}`);
  await w.sync();
  t.is(store.data.size, 1000);
  t.true(sizes.every((n) => n <= 128));
  t.is(
    sizes.reduce((a, b) => a + b, 0),
    1000,
  );
  t.true(sizes.length <= 8, `1000 writes in ${sizes.length} transactions`);
});

test('coalesces repeated writes of one key and keeps the latest', async (t) => {
  const store = new MemoryStore();
  const w = new Writer(store);
  for (let i = 0; i < 50; i++) w.put('nodes', 'n1', String(i));
  await w.sync();
  t.is(store.data.get('/shoal/v1/nodes/n1'), '49');
  t.is(store.commits, 1);
  w.delete('nodes', 'n1');
  await w.sync();
  t.false(store.data.has('/shoal/v1/nodes/n1'));
});

test('retries while the store is unavailable and loses nothing', async (t) => {
  const store = new MemoryStore();
  store.unavailable = true;
  const w = new Writer(store);
  const errors: string[] = [];
  w.onError = (e) => errors.push(e.message);
  w.put('services', 's1', 'a');
  let synced = false;
  const done = w.sync().then(() => (synced = true));
  await until(() => errors.length >= 2, 'a commit failed and was retried');
  t.false(synced);
  w.put('services', 's2', 'b');
  store.unavailable = false;
  await done;
  await w.sync();
  t.is(store.data.get('/shoal/v1/services/s1'), 'a');
  t.is(store.data.get('/shoal/v1/services/s2'), 'b');
  await w.close();
});

test('a put given as a function is encoded once, at commit, and only its latest value', async (t) => {
  const store = new MemoryStore();
  const w = new Writer(store);
  const encoded: number[] = [];
  for (let i = 0; i < 5; i++) {
    w.put('tasks', 't1', () => {
      encoded.push(i);
      return String(i);
    });
  }
  t.deepEqual(encoded, [], 'nothing encoded when queued');
  await w.sync();
  t.deepEqual(encoded, [4]);
  t.is(store.data.get('/shoal/v1/tasks/t1'), '4');
});

test('at most MAX_TXNS_IN_FLIGHT (8) transactions in flight, and the next starts as soon as one ends (no lock step)', async (t) => {
  const store = new MemoryStore();
  const commit = store.commit.bind(store);
  let inFlight = 0;
  let most = 0;
  const started: number[] = [];
  let n = 0;
  let startedWhenSlowEnded = 0;
  store.commit = async (ops: WriteOp[]) => {
    const me = n++;
    started.push(me);
    inFlight++;
    most = Math.max(most, inFlight);
    if (me === 0) {
      // The first transaction is slow: it ends only once the 19 others have started, which
      // never happens if the writer waits for it (lock step): then until() gives up.
      await until(() => started.length === 20, 'the other 19 transactions to start while the first is in flight');
      startedWhenSlowEnded = started.length;
    } else await turns(1);
    inFlight--;
    await commit(ops);
  };
  const w = new Writer(store);
  for (let i = 0; i < 128 * 20; i++) w.put('tasks', `t${i}`, 'x');
  await w.sync();
  t.is(store.data.size, 2560);
  t.is(most, MAX_TXNS_IN_FLIGHT);
  t.is(started.length, 20);
  t.is(startedWhenSlowEnded, 20, 'the other 19 went through while the slow one was in flight');
});

test('syncDesired waits for the service written, not for the task writes queued before it', async (t) => {
  const store = new MemoryStore();
  const commit = store.commit.bind(store);
  let releaseTasks: () => void = () => {};
  const tasksGate = new Promise<void>((r) => (releaseTasks = r));
  store.commit = async (ops: WriteOp[]) => {
    if (ops.some((op) => op.kind === 'tasks')) await tasksGate; // etcd busy with the bulk
    await commit(ops);
  };
  const w = new Writer(store);
  for (let i = 0; i < 1000; i++) w.put('tasks', `t${i}`, 'x');
  w.put('services', 's1', 'svc');
  await w.syncDesired();
  t.is(store.data.get('/shoal/v1/services/s1'), 'svc');
  t.false(store.data.has('/shoal/v1/tasks/t0'), 'the tasks are still on their way');
  let all = false;
  const synced = w.sync().then(() => (all = true));
  await turns();
  t.false(all, 'sync() still waits for every write');
  releaseTasks();
  await synced;
  t.is(store.data.size, 1001);
});

test('a fenced commit in either lane stops both and reports once', async (t) => {
  const store = new MemoryStore();
  let commits = 0;
  store.commit = async () => {
    commits++;
    throw new NotLeaderError('write refused');
  };
  const w = new Writer(store);
  const fenced: string[] = [];
  w.onFenced = (e) => fenced.push(e.message);
  w.put('tasks', 't1', 'x');
  w.put('services', 's1', 'y');
  await until(() => fenced.length > 0, 'the writer fenced');
  await turns(); // a lane still committing would report now
  t.deepEqual(fenced, ['write refused']);
  t.true(commits >= 1 && commits <= 2, `${commits} commits: the other lane stopped, or its one commit was refused too`);
});
