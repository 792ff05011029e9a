// running/desired for `service ls` and for the CLI's wait-for-convergence.
import type { Service, ServiceStatus } from '../../proto/gen/shoal.js';
import { NodeStatus, ServiceMode } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import type { ClusterState } from '../store/cluster-state.js';
import { globalWants } from '../orchestrator/global.js';

export function serviceStatus(state: ClusterState, service: Service): ServiceStatus {
  const tasks = state.tasksOfService(service.id);
  let running = 0;
  let stopping = 0;
  let pendingReason = '';
  for (const t of tasks) {
    const s = t.status?.state ?? TaskState.NEW;
    if (t.desiredState === TaskState.RUNNING) {
      if (s === TaskState.RUNNING) running++;
      else if (s === TaskState.PENDING && t.status?.err && !pendingReason) pendingReason = t.status.err;
    } else if (s >= TaskState.ASSIGNED && s < TaskState.COMPLETE) {
      // Only count what can still stop: a task on a down node is waited for by nobody.
      const node = state.nodes.get(t.nodeId);
      if (node && node.status !== NodeStatus.DOWN) stopping++;
    }
  }
  let desired = service.spec?.replicas ?? 0;
  if (service.spec?.mode === ServiceMode.GLOBAL) {
    desired = 0;
    const withCurrent = new Set(tasks.filter((t) => t.desiredState === TaskState.RUNNING).map((t) => t.nodeId));
    for (const node of state.nodes.values()) if (globalWants(node, service, withCurrent.has(node.id))) desired++;
  }
  return { desired, running, stopping, pendingReason };
}
