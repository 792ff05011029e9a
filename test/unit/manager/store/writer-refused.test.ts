// The writer never retries one bad operation forever: transactions stay under etcd's
// request limit, an op the store refuses for good is dropped with a one-line report and a
// refusal its writer can read, and every other write goes on.
import test from 'ava';
import { MemoryStore } from '../../../../manager/store/memory-store.js';
import { splitByBytes, Writer } from '../../../../manager/store/writer.js';
import { type WriteOp, MAX_TXN_BYTES, WriteRefusedError } from '../../../../manager/store/store.js';

const big = (n: number): string => 'x'.repeat(n);

test('transactions are split to stay under MAX_TXN_BYTES: 128 tasks of 20 KB are all stored', async (t) => {
  const store = new MemoryStore();
  const sizes: number[] = [];
  const commit = store.commit.bind(store);
  store.commit = async (ops: WriteOp[]) => {
    sizes.push(ops.reduce((a, o) => a + (o.value?.length ?? 0), 0));
    await commit(ops);
  };
  const w = new Writer(store);
  const dropped: string[] = [];
  w.onDropped = (line) => dropped.push(line);
  for (let i = 0; i < 128; i++) w.put('tasks', `t${i}`, big(20_000));
  await w.sync();
  t.is(store.data.size, 128);
  t.deepEqual(dropped, []);
  t.true(
    sizes.every((n) => n <= MAX_TXN_BYTES),
    `transaction sizes ${sizes.join(',')}`,
  );
  await w.close();
});

test('an op too large for the store is dropped with one line, the others of its transaction are stored', async (t) => {
  const store = new MemoryStore();
  const w = new Writer(store);
  const dropped: string[] = [];
  const errors: string[] = [];
  w.onDropped = (line) => dropped.push(line);
  w.onError = (e) => errors.push(e.message);
  w.put('services', 'small1', '{}');
  w.put('services', 'huge', big(2 * 2 ** 20));
  w.put('services', 'small2', '{}');
  const started = Date.now();
  await w.sync();
  t.true(Date.now() - started < 1_000, 'sync resolves at once, no retry loop');
  t.true(store.data.has('/shoal/v1/services/small1'));
  t.true(store.data.has('/shoal/v1/services/small2'));
  t.false(store.data.has('/shoal/v1/services/huge'));
  t.is(dropped.length, 1);
  t.false(dropped[0]!.includes('\n'));
  t.regex(dropped[0]!, /dropped a write: the store refused services\/huge \(2097152 bytes\): .*request is too large/);
  t.deepEqual(errors, [], 'not reported as a retry');
  t.true(w.refusal('services', 'huge') instanceof WriteRefusedError);
  t.is(w.refusal('services', 'small1'), undefined);
  // later writes go on, and writing the key again clears its refusal
  w.put('services', 'later', '{}');
  w.put('services', 'huge', '{}');
  t.is(w.refusal('services', 'huge'), undefined);
  await w.sync();
  t.true(store.data.has('/shoal/v1/services/later'));
  t.is(store.data.get('/shoal/v1/services/huge'), '{}');
  await w.close();
});

test('a permanently invalid transaction is isolated: the one bad op is dropped, 127 others stored', async (t) => {
  const store = new MemoryStore();
  const commit = store.commit.bind(store);
  let attempts = 0;
  store.commit = async (ops: WriteOp[]) => {
    attempts++;
    if (ops.some((o) => o.id === 'bad')) throw new WriteRefusedError('etcdserver: duplicate key given in txn request');
    await commit(ops);
  };
  const w = new Writer(store);
  const dropped: string[] = [];
  w.onDropped = (line) => dropped.push(line);
  for (let i = 0; i < 127; i++) w.put('tasks', `t${i}`, '{}');
  w.put('tasks', 'bad', '{}');
  await w.sync();
  t.is(store.data.size, 127);
  t.is(dropped.length, 1);
  t.true(attempts <= 20, `${attempts} commits to isolate one op of 128`);
  // the bulk lane goes on too
  w.put('tasks', 'after', '{}');
  await w.sync();
  t.true(store.data.has('/shoal/v1/tasks/after'));
  await w.close();
});

test('splitByBytes: consecutive parts under the bound; an op larger alone is a part alone', (t) => {
  const ops: WriteOp[] = [10, 10, 50, 10, 200, 10].map((n, i) => ({ kind: 'tasks', id: `t${i}`, value: big(n) }));
  const keyLen = '/shoal/v1/tasks/t0'.length;
  const parts = splitByBytes(ops, 100 + 2 * keyLen);
  t.deepEqual(
    parts.map((p) => p.map((o) => o.id)),
    [['t0', 't1', 't2'], ['t3'], ['t4'], ['t5']],
  );
});
