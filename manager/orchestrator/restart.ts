// Restart policy: whether and when a slot whose task ended gets a new one.
import type { RestartPolicy, Task } from '../../proto/gen/shoal.js';
import { RestartCondition } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import { endedAt, observedState } from './tasks.js';

/** Swarm waits 5 s; 1 s still throttles a crash loop and recovers 4 s sooner. */
export const DEFAULT_RESTART_DELAY_MS = 1_000;

export type RestartDecision = { kind: 'now' } | { kind: 'later'; atMs: number } | { kind: 'never' };

/**
 * @param last the slot's most recent task, which has ended
 * @param history the slot's tasks, newest first (including `last`)
 */
export function decideRestart(policy: RestartPolicy | undefined, last: Task, history: Task[], now: number): RestartDecision {
  const condition = policy?.condition ?? RestartCondition.ANY;
  const state = observedState(last);
  if (condition === RestartCondition.NONE) return { kind: 'never' };
  if (condition === RestartCondition.ON_FAILURE && state === TaskState.COMPLETE) return { kind: 'never' };
  const maxAttempts = policy?.maxAttempts ?? 0;
  if (maxAttempts > 0) {
    const windowMs = policy?.windowMs ?? 0;
    const ended = history.filter((t) => observedState(t) >= TaskState.COMPLETE && (windowMs <= 0 || now - endedAt(t) <= windowMs));
    // The first run is not a restart: attempts = ended tasks counted so far.
    if (ended.length > maxAttempts) return { kind: 'never' };
  }
  const delay = policy?.delayMs ?? DEFAULT_RESTART_DELAY_MS;
  const at = endedAt(last) + Math.max(0, delay);
  return at <= now ? { kind: 'now' } : { kind: 'later', atMs: at };
}
