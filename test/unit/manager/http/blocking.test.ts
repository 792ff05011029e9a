// Blocking queries made of short view waits: no change missed, the deadline kept, nothing
// left running once aborted. The view waits here run on a ManualClock the test owns (a wait
// that times out moves it by its timeout), so nothing depends on how fast timers fire.
import test from 'ava';
import { blockUntilNewer } from '../../../../manager/http/blocking.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { turns } from '../../../helpers/until.js';

/**
 * A view whose waits run on `clock`: a wait answers at once when `current.index` is past
 * `index` (or turns so at its `changeAtCall`-th call), else "times out" at once, moving the
 * clock by its timeout.
 */
function fakeView(current: { index: number }, index: number, opts: { changeAtCall?: number } = {}) {
  const clock = new ManualClock();
  const calls: number[] = [];
  const wait = (timeoutMs: number) => {
    calls.push(timeoutMs);
    if (calls.length === opts.changeAtCall) current.index++;
    if (current.index <= index) clock.advance(timeoutMs);
    return Promise.resolve({ ...current });
  };
  return { clock, calls, wait };
}

test('a long wait is made of slices, each at most the slice length, until the deadline', async (t) => {
  const current = { index: 5 };
  const v = fakeView(current, 5);
  const r = await blockUntilNewer(v.wait, 5, 200, new AbortController().signal, 20, v.clock);
  t.is(r?.index, 5, 'unchanged');
  t.deepEqual(v.calls, Array<number>(10).fill(20), 'ten slices of 20 ms for 200 ms');
  t.is(v.clock.now(), 200, 'the deadline kept');
});

test('the last slice is what is left of the wait', async (t) => {
  const v = fakeView({ index: 5 }, 5);
  await blockUntilNewer(v.wait, 5, 50, new AbortController().signal, 20, v.clock);
  t.deepEqual(v.calls, [20, 20, 10]);
});

test('a change between or during slices ends the wait with the new answer', async (t) => {
  const current = { index: 5 };
  const v = fakeView(current, 5, { changeAtCall: 3 });
  const r = await blockUntilNewer(v.wait, 5, 10_000, new AbortController().signal, 20, v.clock);
  t.is(r?.index, 6);
  t.is(v.calls.length, 3, 'no slice after the one that saw the change');
});

test('abort resolves undefined at once and starts no further wait', async (t) => {
  const calls: number[] = [];
  const pendingWaits: (() => void)[] = [];
  // A view wait that only ends when the test ends it.
  const wait = (timeoutMs: number) => {
    calls.push(timeoutMs);
    return new Promise<{ index: number }>((resolve) => pendingWaits.push(() => resolve({ index: 5 })));
  };
  const ac = new AbortController();
  const p = blockUntilNewer(wait, 5, 10_000, ac.signal, 20, new ManualClock());
  await turns();
  t.is(calls.length, 1, 'waiting on the view');
  ac.abort();
  t.is(await p, undefined, 'the abort ended it: the view wait itself never did');
  for (const end of pendingWaits.splice(0)) end(); // the view wait ends later, as views do
  await turns();
  t.is(calls.length, 1, 'no wait after the abort');
  t.is(await blockUntilNewer(wait, 5, 10_000, ac.signal, 20, new ManualClock()), undefined);
  t.is(calls.length, 1, 'an already aborted signal makes no wait at all');
});

test('a view wait that fails fails the blocking query', async (t) => {
  const ac = new AbortController();
  await t.throwsAsync(
    blockUntilNewer(() => Promise.reject(new Error('view broke')), 1, 1_000, ac.signal),
    { message: 'view broke' },
  );
});
