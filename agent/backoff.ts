// Delays between tries: doubling from a base to a ceiling with "equal jitter" (half fixed,
// half random), as a cockatiel backoff, so a cockatiel RetryPolicy drives every retry of the
// agent (reconnect rounds, an engine that is not up yet).
//
//   attempt 0: base/2 .. base    attempt 1: base .. 2 base    ...    then max/2 .. max
import type { IBackoff, IBackoffFactory, RetryPolicy } from 'cockatiel';

/** First delay after a failed round: a manager restart is usually over within a few of these. */
export const BACKOFF_BASE_MS = 100;
/**
 * Longest delay between rounds: a new leader is found within ~1 s of its election (the
 * cluster recovers in seconds); the jitter spreads a thousand agents over that second.
 */
export const BACKOFF_MAX_MS = 1_000;

/** Delay before attempt n (0-based): doubling from base to max, then "equal jitter". */
export function backoffMs(
  attempt: number,
  random: () => number,
  baseMs = BACKOFF_BASE_MS,
  maxMs = BACKOFF_MAX_MS,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (ceiling / 2) * random();
}

/** backoffMs() as a cockatiel backoff (the random source stays injectable, unlike cockatiel's own). */
export class JitteredBackoff implements IBackoffFactory<unknown> {
  constructor(private readonly opts: { baseMs: number; maxMs: number; random: () => number }) {}

  next(): IBackoff<unknown> {
    return this.at(0);
  }

  private at(attempt: number): IBackoff<unknown> {
    return {
      duration: backoffMs(attempt, this.opts.random, this.opts.baseMs, this.opts.maxMs),
      next: () => this.at(attempt + 1),
    };
  }
}

/**
 * Run `fn` under `policy` until it succeeds; undefined as soon as `signal` aborts, even in the
 * middle of a backoff. (cockatiel's delay cannot be cut short: its timer runs out on its own,
 * at most one backoff later, and the try after it sees the abort and ends the retries. The
 * timer stays referenced: while an agent retries, it is what keeps the process alive.)
 */
export async function retryUntilAborted<T>(
  policy: RetryPolicy,
  signal: AbortSignal,
  fn: (signal: AbortSignal) => Promise<T>,
): Promise<T | undefined> {
  if (signal.aborted) return undefined;
  const running = policy.execute(({ signal: s }) => {
    if (s.aborted) throw new Error('aborted');
    return fn(s);
  }, signal);
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([running, aborted]);
  } catch (err) {
    if (signal.aborted) return undefined;
    throw err;
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort);
    running.catch(() => {}); // it ends on its own after an abort; nobody waits for it then
  }
}
