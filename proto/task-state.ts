// The one place that knows how task states order and move.
import { TaskState } from './gen/shoal.js';

export { TaskState };

/** States a task can never leave: its container (if any) is gone or going. */
export function isTerminal(state: TaskState): boolean {
  return state >= TaskState.COMPLETE;
}

/** True while a task still holds (or may soon hold) a container on its node. */
export function isAlive(state: TaskState): boolean {
  return state < TaskState.COMPLETE;
}

/** Lower-case name as shown by the CLI ("running", "pending", ...). */
export function stateName(state: TaskState): string {
  const name = TaskState[state];
  return name === undefined ? `unknown(${state})` : name.toLowerCase();
}

export class StateTransitionError extends Error {
  override name = 'StateTransitionError';
  constructor(
    readonly from: TaskState,
    readonly to: TaskState,
  ) {
    super(`task state cannot move from ${stateName(from)} to ${stateName(to)}`);
  }
}

/**
 * Observed state only moves forward. Returns the next state, or throws when `next`
 * would go backwards. Equal states are allowed (a repeated report is harmless).
 */
export function transition(current: TaskState, next: TaskState): TaskState {
  if (next < current) throw new StateTransitionError(current, next);
  return next;
}

/** Like transition() but reports instead of throwing: for reports that may arrive late. */
export function canTransition(current: TaskState, next: TaskState): boolean {
  return next >= current;
}
