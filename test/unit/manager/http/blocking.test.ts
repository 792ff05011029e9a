// Blocking queries made of short view waits: no change missed, the deadline kept, nothing
// left running once aborted.
import test from 'ava';
import { blockUntilNewer } from '../../../../manager/http/blocking.js';
import { blockingParams, DEFAULT_WAIT_MS, MAX_WAIT_MS } from '../../../../manager/http/query.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A view wait: resolves when `current.index` passes `index`, else after the timeout. */
function fakeWait(current: { index: number }, index: number, calls: number[]) {
  return (timeoutMs: number) => {
    calls.push(timeoutMs);
    return new Promise<{ index: number }>((resolve) => {
      const start = performance.now();
      const tick = setInterval(() => {
        if (current.index > index || performance.now() - start >= timeoutMs) {
          clearInterval(tick);
          resolve({ ...current });
        }
      }, 2);
    });
  };
}

test('a long wait is made of slices, each at most the slice length', async (t) => {
  const current = { index: 5 };
  const calls: number[] = [];
  const r = await blockUntilNewer(fakeWait(current, 5, calls), 5, 200, new AbortController().signal, 20);
  t.is(r?.index, 5);
  // Timers overshoot on a loaded machine: fewer, full slices; never one long wait.
  t.true(calls.length >= 3, `${calls.length} slices`);
  t.true(calls.every((ms) => ms <= 20));
});

test('a change between or during slices ends the wait with the new answer', async (t) => {
  const current = { index: 5 };
  const calls: number[] = [];
  setTimeout(() => (current.index = 6), 50);
  const t0 = performance.now();
  const r = await blockUntilNewer(fakeWait(current, 5, calls), 5, 10_000, new AbortController().signal, 20);
  t.is(r?.index, 6);
  t.true(performance.now() - t0 < 500);
});

test('abort resolves undefined at once and starts no further wait', async (t) => {
  const current = { index: 5 };
  const calls: number[] = [];
  const ac = new AbortController();
  const p = blockUntilNewer(fakeWait(current, 5, calls), 5, 10_000, ac.signal, 20);
  await sleep(50);
  const t0 = performance.now();
  ac.abort();
  t.is(await p, undefined);
  t.true(performance.now() - t0 < 100);
  const n = calls.length;
  await sleep(80);
  t.is(calls.length, n);
  t.is(await blockUntilNewer(fakeWait(current, 5, calls), 5, 10_000, ac.signal, 20), undefined);
  t.is(calls.length, n, 'an already aborted signal makes no wait at all');
});

test('a view wait that fails fails the blocking query', async (t) => {
  const ac = new AbortController();
  await t.throwsAsync(
    blockUntilNewer(() => Promise.reject(new Error('view broke')), 1, 1_000, ac.signal),
    { message: 'view broke' },
  );
});

test('wait and index parameters as Consul reads them', (t) => {
  const p = (s: string) => blockingParams(new URLSearchParams(s));
  t.deepEqual(p(''), { index: undefined, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=7'), { index: 7, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=7&wait=10s'), { index: 7, waitMs: 10_000 });
  t.deepEqual(p('index=7&wait=500ms'), { index: 7, waitMs: 500 });
  t.deepEqual(p('index=7&wait=1m30s'), { index: 7, waitMs: 90_000 });
  t.deepEqual(p('index=7&wait=1h'), { index: 7, waitMs: MAX_WAIT_MS });
  t.deepEqual(p('index=7&wait=0'), { index: 7, waitMs: DEFAULT_WAIT_MS });
  t.deepEqual(p('index=&wait='), { index: undefined, waitMs: DEFAULT_WAIT_MS });
  t.throws(() => p('index=7&wait=10'), { message: 'invalid wait "10": expected a duration like 10s, 500ms or 1m30s' });
  t.throws(() => p('index=x'), { message: 'invalid index "x": expected a non-negative integer' });
  t.throws(() => p('index=1.5'), { message: /^invalid index/ });
});
