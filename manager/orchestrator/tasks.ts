// Creating and stopping tasks: the only two things the orchestrator does to them.
import type { Service, Task } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import { TaskState, canTransition, isTerminal } from '../../proto/task-state.js';
import type { ClusterState } from '../store/cluster-state.js';

let lastCreatedAt = 0;

/** Creation times are strictly increasing, so "newest task of a slot" is never a tie. */
function creationTime(now: number): number {
  lastCreatedAt = Math.max(now, lastCreatedAt + 1);
  return lastCreatedAt;
}

export function newTask(
  service: Service,
  slot: number,
  nodeId: string,
  now: number,
  restartHistoryMs: number[] = [],
): Task {
  const createdAtMs = creationTime(now);
  return {
    id: newId(),
    serviceId: service.id,
    serviceName: service.spec!.name,
    slot,
    nodeId,
    spec: service.spec,
    specVersion: service.specVersion,
    desiredState: TaskState.RUNNING,
    status: {
      state: TaskState.PENDING,
      message: 'waiting for a node',
      err: '',
      containerId: '',
      exitCode: 0,
      timestampMs: now,
      addresses: [],
    },
    createdAtMs,
    restartHistoryMs,
  };
}

/**
 * Asks a task to stop (desired SHUTDOWN, or REMOVE when its service is gone). A task that
 * never reached a node stops at once; one on a node is stopped by its agent.
 */
export function stopTask(
  state: ClusterState,
  t: Task,
  desired: TaskState.SHUTDOWN | TaskState.REMOVE,
  why: string,
  now: number,
): void {
  const observed = t.status?.state ?? TaskState.NEW;
  if (observed < TaskState.ASSIGNED) {
    state.putTask({
      ...t,
      desiredState: desired,
      status: {
        state: TaskState.SHUTDOWN,
        message: why,
        err: '',
        containerId: '',
        exitCode: 0,
        timestampMs: now,
        addresses: [],
      },
    });
    return;
  }
  // Desired state only moves forward too (REMOVE is never turned back into SHUTDOWN).
  if (t.desiredState === desired || !canTransition(t.desiredState, desired)) return;
  state.putTask({ ...t, desiredState: desired });
}

/** The slot's current task has ended by itself: record that it should not run any more. */
export function retire(state: ClusterState, t: Task): void {
  if (t.desiredState === TaskState.RUNNING && isTerminal(t.status?.state ?? TaskState.NEW)) {
    state.putTask({ ...t, desiredState: TaskState.SHUTDOWN });
  }
}

export function observedState(t: Task): TaskState {
  return t.status?.state ?? TaskState.NEW;
}

export function endedAt(t: Task): number {
  return t.status?.timestampMs ?? t.createdAtMs;
}
