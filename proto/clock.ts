// Time as the manager, the agent and the CLI see it: the monotonic "now" they measure
// intervals and deadlines with, and the timers and sleeps they wait on. `systemClock` is the
// real one (node:timers, performance.now()); a test hands in a clock it moves itself
// (test/helpers/manual-clock.ts), so it asserts which delay was chosen and what happened in
// which order, never how fast the machine was.
//
// Wall-clock time is not this clock's: a timestamp stored, sent to another process, compared
// with one from elsewhere or shown to a user is Date.now() (injected as a plain
// `now: () => number` where a test sets it).
import { setTimeout as sleep } from 'node:timers/promises';

/** Cancels a timer; calling it again, or after the timer fired, does nothing. */
export type Cancel = () => void;

export interface TimerOptions {
  /** A pending timer does not keep the process alive. */
  unref?: boolean;
}

export interface Clock {
  /** Milliseconds on a monotonic scale: for intervals and deadlines only, never a timestamp. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  after(ms: number, fn: () => void, opts?: TimerOptions): Cancel;
  /** Calls `fn` every `ms` (a run held up by a busy event loop is not caught up) until cancelled. */
  every(ms: number, fn: () => void, opts?: TimerOptions): Cancel;
  /**
   * Resolves after `ms`; rejects with the signal's reason when `signal` aborts first (as
   * fetch does; AbortSignal.abort() without one gives a DOMException named AbortError).
   */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn, opts) {
    const timer = setTimeout(fn, ms);
    if (opts?.unref === true) timer.unref();
    return () => clearTimeout(timer);
  },
  every(ms, fn, opts) {
    const timer = setInterval(fn, ms);
    if (opts?.unref === true) timer.unref();
    return () => clearInterval(timer);
  },
  async sleep(ms, signal) {
    try {
      await sleep(ms, undefined, { signal });
    } catch (err) {
      // node:timers/promises rejects with its own AbortError (the reason as its cause)
      if (signal?.aborted === true) throw signal.reason as Error;
      throw err;
    }
  },
};
