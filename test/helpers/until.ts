// The unit tests' one way to wait for something that crosses a real socket, process, engine
// or etcd: poll a condition instead of sleeping a fixed time. Tests assert what happened; the
// timeout is only a guard against a hang (generous, so a loaded machine never trips it).
// Time the code under test schedules itself runs on a ManualClock (./manual-clock.ts), not
// here. (The end-to-end beds wait with their own budgets: bed.ts's waitFor.)
import { setTimeout as sleep } from 'node:timers/promises';

export const UNTIL_TIMEOUT_MS = 30_000;

export interface UntilOptions {
  /** Give up (and fail) after this long; a guard, never a speed requirement. */
  timeoutMs?: number;
  /** How often the condition is looked at. */
  pollMs?: number;
  /** Called after each look that found the condition false (e.g. to publish a probe). */
  tick?: () => void;
}

/**
 * Resolves once `cond` holds, with the time it took (for `t.log('measured: ...')` only);
 * throws `what: not within N ms` after the timeout.
 */
export async function until(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  opts: UntilOptions = {},
): Promise<number> {
  const timeoutMs = opts.timeoutMs ?? UNTIL_TIMEOUT_MS;
  const start = performance.now();
  for (;;) {
    if (await cond()) return Math.round(performance.now() - start);
    if (performance.now() - start > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    opts.tick?.();
    await sleep(opts.pollMs ?? 5);
  }
}

/** Lets everything already queued run: `turns` rounds of the event loop's check phase. */
export async function turns(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
