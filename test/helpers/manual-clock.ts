// Clocks for the unit tests (proto/clock.ts's Clock): a manual one whose time moves only when
// the test says, and a real one that counts the timers it has running. Either way a test
// asserts the delays chosen and the order of what happened, never the speed of the machine.
import { setImmediate } from 'node:timers/promises';
import { systemClock, type Cancel, type Clock, type TimerOptions } from '../../proto/clock.js';

interface Timer {
  due: number;
  /** Order of setting: timers due at the same time fire in it. */
  seq: number;
  /** The delay asked for (the period of an every()). */
  ms: number;
  fn: () => void;
  periodic: boolean;
}

/**
 * Time stands still until advance() (or stall()); due timers then fire in order, each at its
 * own time, also the ones set by them. With { auto: true } every sleep() moves the time on at
 * once (a polling loop on virtual time: 5 s of polling takes milliseconds).
 */
export class ManualClock implements Clock {
  /** Every delay asked for (after, every, sleep), in order: fired, pending or cancelled. */
  readonly requested: number[] = [];
  #now: number;
  readonly #auto: boolean;
  #seq = 0;
  #timers: Timer[] = [];
  readonly #waiters: Array<() => void> = [];

  constructor(options: { start?: number; auto?: boolean } = {}) {
    this.#now = options.start ?? 0;
    this.#auto = options.auto ?? false;
  }

  now(): number {
    return this.#now;
  }

  after(ms: number, fn: () => void): Cancel {
    return this.#set(ms, fn, false);
  }

  every(ms: number, fn: () => void): Cancel {
    return this.#set(ms, fn, true);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (this.#auto) {
      this.requested.push(ms);
      if (signal?.aborted) return Promise.reject(signal.reason as Error);
      this.advance(ms);
      return setImmediate(); // let I/O in between, as a real sleep would
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        cancel();
        reject(signal?.reason as Error);
      };
      const cancel = this.#set(
        ms,
        () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        false,
      );
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** The delays of the timers waiting now (as asked; an every()'s period), soonest first. */
  pending(): number[] {
    return this.#sorted().map((t) => t.ms);
  }

  /** Time until the next timer fires (undefined: none is waiting). */
  next(): number | undefined {
    const t = this.#sorted()[0];
    return t === undefined ? undefined : Math.max(0, t.due - this.#now);
  }

  /**
   * Moves the time on by `ms`, firing every timer that falls due meanwhile, in order, each at its
   * own time (also ones set by them). Without `ms`: to the next timer (there must be one).
   */
  advance(ms?: number): void {
    const step = ms ?? this.next();
    if (step === undefined) throw new Error('no timer is waiting');
    const end = this.#now + step;
    for (;;) {
      const t = this.#sorted()[0];
      if (t === undefined || t.due > end) break;
      this.#timers = this.#timers.filter((x) => x !== t);
      this.#now = Math.max(this.#now, t.due); // a stalled timer fires late, at the time it is run
      if (t.periodic) this.#arm(t, this.#now + t.ms);
      t.fn();
    }
    this.#now = end;
  }

  /**
   * The event loop was held for `ms`: the time jumps with no timer firing, then every overdue
   * timer fires once, late (an every() runs next a period after that, as setInterval does).
   */
  stall(ms: number): void {
    this.#now += ms;
    this.advance(0);
  }

  /** Resolves once at least `n` timers are waiting. */
  async waitForTimers(n = 1): Promise<void> {
    while (this.#timers.length < n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }

  /** Fires each timer as it is set until `done` settles (a run with nothing else in its way); returns it. */
  async drive<T>(done: Promise<T>): Promise<T> {
    let settled = false;
    const wake = (): void => {
      settled = true;
      for (const w of this.#waiters.splice(0)) w();
    };
    done.then(wake, wake);
    while (!settled) {
      if (this.#timers.length > 0) {
        this.advance();
        await setImmediate();
      } else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return done;
  }

  #set(ms: number, fn: () => void, periodic: boolean): Cancel {
    this.requested.push(ms);
    const t: Timer = { due: 0, seq: 0, ms, fn, periodic };
    this.#arm(t, this.#now + ms);
    for (const w of this.#waiters.splice(0)) w();
    return () => {
      this.#timers = this.#timers.filter((x) => x !== t);
    };
  }

  #arm(t: Timer, due: number): void {
    t.due = due;
    t.seq = this.#seq++;
    this.#timers.push(t);
  }

  #sorted(): Timer[] {
    return [...this.#timers].sort((a, b) => a.due - b.due || a.seq - b.seq);
  }
}

/** Real time; counts the timers and sleeps asked for and neither fired nor cancelled yet. */
export class RecordingClock implements Clock {
  /** Every delay asked for, in order. */
  readonly requested: number[] = [];
  #live = 0;

  now(): number {
    return systemClock.now();
  }

  after(ms: number, fn: () => void, opts?: TimerOptions): Cancel {
    const settle = this.#track(ms);
    const cancel = systemClock.after(
      ms,
      () => {
        if (settle()) fn();
      },
      opts,
    );
    return () => {
      if (settle()) cancel();
    };
  }

  every(ms: number, fn: () => void, opts?: TimerOptions): Cancel {
    const settle = this.#track(ms);
    const cancel = systemClock.every(ms, fn, opts);
    return () => {
      if (settle()) cancel();
    };
  }

  async sleep(ms: number, signal?: AbortSignal): Promise<void> {
    const settle = this.#track(ms);
    try {
      await systemClock.sleep(ms, signal);
    } finally {
      settle();
    }
  }

  /** Timers and sleeps asked for and neither over nor cancelled yet. */
  get pendingCount(): number {
    return this.#live;
  }

  /** Counts one more live timer; the returned function ends it once (true the first time). */
  #track(ms: number): () => boolean {
    this.requested.push(ms);
    this.#live++;
    let done = false;
    return () => {
      if (done) return false;
      done = true;
      this.#live--;
      return true;
    };
  }
}
