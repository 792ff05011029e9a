// Global services: one task on every node that is ready, not drained and matches the
// constraints. Paused nodes keep the task they have but get no new one.
import type { Node, Service, Task } from '../../proto/gen/shoal.js';
import { Availability, NodeStatus } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import { parseConstraint } from '../../proto/constraint.js';
import { matches } from '../scheduler/constraint.js';
import type { OrchestratorContext } from './slots.js';
import { reconcileSlot } from './slots.js';

export function nodeMatchesService(node: Node, service: Service): boolean {
  return (service.spec?.constraints ?? []).every((c) => matches(node, parseConstraint(c)));
}

/** Whether a global service should have a task on this node right now. */
export function globalWants(node: Node, service: Service, hasCurrent: boolean): boolean {
  if (node.availability === Availability.DRAIN) return false;
  if (!nodeMatchesService(node, service)) return false;
  if (hasCurrent) return true;
  return node.status === NodeStatus.READY && node.availability === Availability.ACTIVE;
}

export function reconcileGlobal(ctx: OrchestratorContext, service: Service, tasks: Task[]): void {
  const byNode = new Map<string, Task[]>();
  for (const t of tasks) {
    let list = byNode.get(t.nodeId);
    if (!list) byNode.set(t.nodeId, (list = []));
    list.push(t);
  }
  for (const node of ctx.state.nodes.values()) {
    const list = byNode.get(node.id) ?? [];
    byNode.delete(node.id);
    const hasCurrent = list.some((t) => t.desiredState === TaskState.RUNNING);
    reconcileSlot(ctx, service, 0, node.id, list, globalWants(node, service, hasCurrent));
  }
  // Tasks on nodes that no longer exist.
  for (const list of byNode.values()) reconcileSlot(ctx, service, 0, '', list, false);
}
