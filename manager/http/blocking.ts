// Blocking queries on top of EndpointView's waits, which cannot be cancelled: a long wait is
// made of short ones, so a wait a client walked away from stays in the view at most one slice.
// No change is missed between two slices: the next one starts from the same index, and the
// view answers at once when the name has moved past it.
import { systemClock, type Clock } from '../../proto/clock.js';

/** How long one view wait may outlive the request that asked for it. */
export const WAIT_SLICE_MS = 5_000;

const ABORTED = Symbol('aborted');

/**
 * Waits until `wait` yields an answer newer than `index`, or `totalMs` passes on `clock` (then
 * the last, unchanged answer). Resolves with undefined as soon as `signal` aborts, and makes
 * no further call to `wait` after that.
 */
export async function blockUntilNewer<T extends { index: number }>(
  wait: (timeoutMs: number) => Promise<T>,
  index: number,
  totalMs: number,
  signal: AbortSignal,
  sliceMs: number = WAIT_SLICE_MS,
  clock: Pick<Clock, 'now'> = systemClock,
): Promise<T | undefined> {
  const deadline = clock.now() + totalMs;
  for (;;) {
    if (signal.aborted) return undefined;
    const left = Math.max(0, deadline - clock.now());
    const r = await untilAborted(wait(Math.min(left, sliceMs)), signal);
    if (r === ABORTED) return undefined;
    // less than a millisecond left: a timer that fired a hair early, not worth another wait
    if (r.index > index || deadline - clock.now() < 1) return r;
  }
}

function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T | typeof ABORTED> {
  if (signal.aborted) return Promise.resolve(ABORTED);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(ABORTED);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (err: Error) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
