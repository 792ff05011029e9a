// proto/clock.ts's Clock contract, held by the system clock and by the tests' ManualClock
// alike (so a test on the manual one sees what the code sees in production): timers fire in
// the order they fall due, a cancelled one never fires, every() repeats until cancelled,
// sleep() rejects with the abort reason. Then what only the ManualClock does (the order of
// timers of different delays among them). Every check is on order and counts, never on how
// long anything took.
import test from 'ava';
import { systemClock, type Clock } from '../../../proto/clock.js';
import { ManualClock } from '../../helpers/manual-clock.js';

/** A clock and a way to let `ms` pass on it. */
interface Subject {
  clock: Clock;
  pass: (ms: number) => Promise<void>;
}

const subjects: Record<string, () => Subject> = {
  system: () => ({ clock: systemClock, pass: (ms) => systemClock.sleep(ms) }),
  manual: () => {
    const clock = new ManualClock();
    return {
      clock,
      pass: async (ms) => clock.advance(ms),
    };
  },
};

for (const [name, make] of Object.entries(subjects)) {
  // (Timers set one after another with different delays may cross on a real clock when the
  // process is held between the two calls; the same delay, or a longer one set later, never.)
  test(`${name}: timers fire in the order they fall due; a cancelled one never fires`, async (t) => {
    const { clock, pass } = make();
    const fired: string[] = [];
    clock.after(10, () => fired.push('a'));
    const cancel = clock.after(10, () => fired.push('cancelled'));
    clock.after(10, () => fired.push('b'));
    const last = new Promise<void>((resolve) =>
      clock.after(30, () => {
        fired.push('c');
        resolve();
      }),
    );
    cancel();
    cancel(); // harmless
    await pass(30);
    await last;
    t.deepEqual(fired, ['a', 'b', 'c']);
  });

  test(`${name}: a timer set by a timer fires too`, async (t) => {
    const { clock, pass } = make();
    const child = new Promise<string>((resolve) => clock.after(5, () => clock.after(10, () => resolve('fired'))));
    await pass(15);
    t.is(await child, 'fired');
  });

  test(`${name}: every() repeats until cancelled; now() moves forward`, async (t) => {
    const { clock, pass } = make();
    const start = clock.now();
    let runs = 0;
    const stop = clock.every(5, () => runs++);
    await pass(17);
    t.true(runs >= 1, 'it ran');
    stop();
    const seen = runs;
    await pass(20);
    t.is(runs, seen, 'not after it was cancelled');
    t.true(clock.now() > start);
  });

  test(`${name}: sleep() resolves; an abort rejects it with the signal's reason`, async (t) => {
    const { clock, pass } = make();
    let slept = false;
    const sleeping = clock.sleep(10).then(() => (slept = true));
    await pass(10);
    await sleeping;
    t.true(slept);
    const ac = new AbortController();
    const reason = new Error('stop');
    const aborted = clock.sleep(60_000, ac.signal);
    ac.abort(reason);
    t.is(await t.throwsAsync(aborted), reason);
    t.is(await t.throwsAsync(clock.sleep(10, ac.signal)), reason, 'already aborted');
    const plain = new AbortController();
    const sleeping2 = clock.sleep(60_000, plain.signal);
    plain.abort();
    const abortError = await t.throwsAsync(sleeping2, { any: true });
    t.is(abortError, plain.signal.reason, "abort() without a reason: the signal's AbortError");
  });
}

test('manual: time stands still until advanced; pending(), next() and requested tell the delays asked for', (t) => {
  const clock = new ManualClock({ start: 1_000 });
  const fired: number[] = [];
  clock.after(300, () => fired.push(clock.now()));
  const cancel = clock.after(100, () => fired.push(-1));
  clock.every(200, () => fired.push(clock.now()));
  t.deepEqual(clock.pending(), [100, 200, 300], 'soonest first');
  t.is(clock.next(), 100);
  cancel();
  clock.advance(199);
  t.deepEqual(fired, [], 'nothing due yet');
  clock.advance(); // to the next timer
  t.is(clock.now(), 1_200);
  clock.advance(200);
  t.deepEqual(fired, [1_200, 1_300, 1_400], 'each at its own time');
  t.deepEqual(clock.requested, [300, 100, 200]);
  t.deepEqual(clock.pending(), [200], 'the every() is still there');
});

test('manual: stall() runs each overdue timer once, late; an every() runs next a period after that', (t) => {
  const clock = new ManualClock();
  const runs: number[] = [];
  clock.every(25, () => runs.push(clock.now()));
  clock.stall(1_000);
  t.deepEqual(runs, [1_000], 'once, when the loop got to it');
  clock.advance(25);
  t.deepEqual(runs, [1_000, 1_025]);
});

test('manual: advance() without a timer waiting is a mistake', (t) => {
  t.throws(() => new ManualClock().advance(), { message: 'no timer is waiting' });
});

test('manual, auto: every sleep moves the time at once', async (t) => {
  const clock = new ManualClock({ auto: true });
  const fired: number[] = [];
  clock.after(150, () => fired.push(clock.now()));
  for (let i = 0; i < 3; i++) await clock.sleep(100);
  t.is(clock.now(), 300);
  t.deepEqual(fired, [150], 'timers due meanwhile fire on the way');
  t.deepEqual(clock.requested, [150, 100, 100, 100]);
});

test('manual: waitForTimers() and drive() run a sleeper to its end', async (t) => {
  const clock = new ManualClock();
  const run = (async () => {
    for (let i = 0; i < 3; i++) await clock.sleep(1_000);
    return 'done';
  })();
  await clock.waitForTimers();
  t.deepEqual(clock.pending(), [1_000]);
  t.is(await clock.drive(run), 'done');
  t.is(clock.now(), 3_000);
});
