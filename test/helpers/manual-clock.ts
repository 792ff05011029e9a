// A clock (cli/clock.ts's interface) whose time moves only when the test says: timers wait
// until advance() reaches them, so a test asserts which timeouts were used and in what order,
// never how long anything took. With { auto: true } every sleep moves the time at once (a
// wait loop running on virtual time: 5 s of polling takes milliseconds).
import { setImmediate } from 'node:timers/promises';
import type { Clock } from '../../cli/clock.js';

interface Timer {
  at: number;
  ms: number;
  fire: () => void;
}

export class ManualClock implements Clock {
  #now: number;
  readonly #auto: boolean;
  readonly #timers: Timer[] = [];
  readonly #waiters: Array<() => void> = [];
  /** Every sleep asked for (ms), in order, including those aborted since. */
  readonly requested: number[] = [];

  constructor(options: { start?: number; auto?: boolean } = {}) {
    this.#now = options.start ?? 0;
    this.#auto = options.auto ?? false;
  }

  now(): number {
    return this.#now;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.requested.push(ms);
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.#auto) {
      this.#now += ms;
      return setImmediate(); // let I/O in between, as a real sleep would
    }
    return new Promise((resolve, reject) => {
      const onAbort = (): void => {
        this.#timers.splice(this.#timers.indexOf(timer), 1);
        reject(signal?.reason as Error);
      };
      const timer: Timer = {
        at: this.#now + ms,
        ms,
        fire: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      this.#timers.push(timer);
      signal?.addEventListener('abort', onAbort, { once: true });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** The durations of the timers waiting now, in the order they were set. */
  pending(): number[] {
    return this.#timers.map((t) => t.ms);
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
      if (this.#timers.length > 0) this.advance();
      else await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return done;
  }

  /** Moves the time to the earliest waiting timer and fires every timer due then. */
  advance(): void {
    const next = Math.min(...this.#timers.map((t) => t.at));
    if (!Number.isFinite(next)) throw new Error('no timer is waiting');
    this.#now = next;
    for (const t of this.#timers.filter((x) => x.at <= next)) {
      this.#timers.splice(this.#timers.indexOf(t), 1);
      t.fire();
    }
  }
}
