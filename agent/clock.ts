// Time as the agent's parts see it: the timers they schedule and the monotonic "now" they
// measure intervals with. Real by default; a test hands in a clock it advances itself, so it
// asserts which delay was chosen and what happened in which order, never how fast the
// machine was (test/helpers/clocks.ts).
export type Cancel = () => void;

export interface Clock {
  /** Milliseconds on a monotonic scale: for intervals only (status timestamps use Date.now). */
  now(): number;
  /**
   * Call `fn` once after `ms`; the returned function cancels it. `unref`: a pending timer does
   * not keep the process alive.
   */
  after(ms: number, fn: () => void, opts?: { unref?: boolean }): Cancel;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  after(ms, fn, opts) {
    const timer = setTimeout(fn, ms);
    if (opts?.unref === true) timer.unref();
    return () => clearTimeout(timer);
  },
};
