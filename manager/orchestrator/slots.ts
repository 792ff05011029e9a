// What replicated and global services share: one "slot" (a replica number, or a node for
// global services) holds at most one current task; ended tasks become history.
import type { Service, Task } from '../../proto/gen/shoal.js';
import { TaskState, isTerminal } from '../../proto/task-state.js';
import type { ClusterState } from '../store/cluster-state.js';
import { decideRestart, nextRestartHistory } from './restart.js';
import { newTask, observedState, retire, stopTask } from './tasks.js';
import { updaterOwnsPair, updaterOwnsSlot } from './update/updater.js';

/** Tasks kept per slot, current one included (swarm's task history retention limit). */
export const TASK_HISTORY_PER_SLOT = 5;

export interface OrchestratorContext {
  state: ClusterState;
  now: number;
  /**
   * Whether a task may stay on this node: it exists and is not drained, and, for
   * replicated services, is not down (global tasks wait for their node to come back).
   */
  nodeKeepsTasks(nodeId: string, global: boolean): boolean;
  /** Ask to be called again for this service at a later time (restart delay). */
  wakeAt(serviceId: string, atMs: number): void;
  /**
   * New tasks this pass may still create (Infinity: no bound). Replicated services stop
   * at 0 and leave their remaining slots to the next pass (deferSlot), so creating a
   * 10,000-replica service does not hold the event loop for one long pass.
   */
  createBudget?: number;
  deferSlot?(serviceId: string, slot: number): void;
}

/**
 * Brings one slot to exactly one current task (or none, when `wanted` is false or the
 * restart policy says so). `nodeId` is set for global slots. A slot that is not wanted
 * keeps its history unless `forget` is set (a replica slot above the count), in which
 * case its tasks are deleted once they have ended. Writes go through the cluster state.
 */
export function reconcileSlot(
  ctx: OrchestratorContext,
  service: Service,
  slot: number,
  nodeId: string,
  tasks: Task[],
  wanted: boolean,
  forget = false,
): void {
  const { state, now } = ctx;
  // newest first
  tasks.sort((a, b) => b.createdAtMs - a.createdAtMs);
  let current = tasks.filter((t) => t.desiredState === TaskState.RUNNING);
  let needsReplacement = false;

  if (!wanted) {
    for (const t of current) stopTask(state, t, TaskState.SHUTDOWN, 'no longer wanted', now);
    reapHistory(state, tasks, forget ? TASK_HISTORY_PER_SLOT : 0);
    return;
  }

  const global = nodeId !== '';
  for (const t of current) {
    if (t.nodeId && !ctx.nodeKeepsTasks(t.nodeId, global)) {
      stopTask(state, t, TaskState.SHUTDOWN, 'node drained or down', now);
      needsReplacement = true;
    }
  }
  current = current.filter((t) => !t.nodeId || ctx.nodeKeepsTasks(t.nodeId, global));

  const ended = current.filter((t) => isTerminal(observedState(t)));
  for (const t of ended) retire(state, t);
  current = current.filter((t) => !isTerminal(observedState(t)));

  if (current.length > 1 && !updaterOwnsPair(service, current)) {
    // Keep the most advanced (then newest); stop the others.
    current.sort((a, b) => observedState(b) - observedState(a) || b.createdAtMs - a.createdAtMs);
    for (const t of current.slice(1)) stopTask(state, t, TaskState.SHUTDOWN, 'duplicate task for the slot', now);
    current = current.slice(0, 1);
  }

  if (current.length === 0) {
    const last = tasks[0];
    // Stopped by a rolling update (or ended during one): the updater creates the replacement.
    if (!needsReplacement && updaterOwnsSlot(service, last)) {
      reapHistory(state, tasks, 0);
      return;
    }
    let create = needsReplacement || last === undefined;
    let history = last?.restartHistoryMs ?? [];
    if (!create && last && isTerminal(observedState(last))) {
      const d = decideRestart(service.spec?.restart, last, now);
      if (d.kind === 'now') {
        create = true;
        history = nextRestartHistory(last);
      } else if (d.kind === 'later') ctx.wakeAt(service.id, d.atMs);
    } else if (!create && last && !isTerminal(observedState(last))) {
      // The newest task is being stopped on purpose but still alive: a new one is due.
      create = true;
    }
    if (create) {
      state.putTask(newTask(service, slot, nodeId, now, history));
      if (ctx.createBudget !== undefined) ctx.createBudget--;
      reapHistory(state, tasks, 1);
      return;
    }
  }
  reapHistory(state, tasks, current.length);
}

/** Deletes the oldest ended tasks beyond the history limit. `tasks` is newest first. */
function reapHistory(state: ClusterState, tasks: Task[], currentCount: number): void {
  let kept = currentCount;
  for (const t of tasks) {
    if (t.desiredState === TaskState.RUNNING && !isTerminal(observedState(t))) continue;
    if (!isTerminal(observedState(t))) continue; // still stopping: keep until it ends
    if (kept < TASK_HISTORY_PER_SLOT) kept++;
    else state.deleteTask(t.id);
  }
}
