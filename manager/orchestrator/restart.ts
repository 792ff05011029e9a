// Restart policy: whether and when a slot whose task ended gets a new one.
import type { RestartPolicy, Task } from '../../proto/gen/shoal.js';
import { RestartCondition } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import { endedAt, observedState } from './tasks.js';

/** Swarm waits 5 s; 1 s still throttles a crash loop and recovers 4 s sooner. */
export const DEFAULT_RESTART_DELAY_MS = 1_000;

/** Restart times carried from task to task in a slot (enough for any sane max attempts). */
export const RESTART_HISTORY_LIMIT = 100;

export type RestartDecision = { kind: 'now' } | { kind: 'later'; atMs: number } | { kind: 'never' };

/** The restart history the replacement of `last` carries: earlier restarts plus this one. */
export function nextRestartHistory(last: Task): number[] {
  return [...last.restartHistoryMs, endedAt(last)].slice(-RESTART_HISTORY_LIMIT);
}

/**
 * @param last the slot's most recent task, which has ended
 */
export function decideRestart(policy: RestartPolicy | undefined, last: Task, now: number): RestartDecision {
  const condition = policy?.condition ?? RestartCondition.ANY;
  const state = observedState(last);
  if (condition === RestartCondition.NONE) return { kind: 'never' };
  if (condition === RestartCondition.ON_FAILURE && state === TaskState.COMPLETE) return { kind: 'never' };
  const maxAttempts = policy?.maxAttempts ?? 0;
  if (maxAttempts > 0) {
    const windowMs = policy?.windowMs ?? 0;
    // Restarts already made (within the window), plus the one this would be.
    const made = last.restartHistoryMs.filter((at) => windowMs <= 0 || now - at <= windowMs).length;
    if (made + 1 > maxAttempts) return { kind: 'never' };
  }
  const delay = policy?.delayMs ?? DEFAULT_RESTART_DELAY_MS;
  const at = endedAt(last) + Math.max(0, delay);
  return at <= now ? { kind: 'now' } : { kind: 'later', atMs: at };
}
