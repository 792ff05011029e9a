// Turns services into tasks. Reconciles only the services touched since the last pass
// (a task, node or service change marks them), so a pass costs what changed.
import { WakeTimers } from './wake-timers.js';
import type { Service, Task } from '../../proto/gen/shoal.js';
import { Availability, NodeStatus, ServiceMode } from '../../proto/gen/shoal.js';
import { TaskState, isTerminal } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { reconcileGlobal } from './global.js';
import { reconcileReplicated } from './replicated.js';
import type { OrchestratorContext } from './slots.js';
import { observedState, stopTask } from './tasks.js';
import { reconcileSlot } from './slots.js';

export class Orchestrator {
  /** Services to reconcile whole (a service change, a global service, a timer). */
  private readonly dirty = new Set<string>();
  /**
   * Replicated services' slots touched by a task change: only those are reconciled, so a
   * task that ends (or a node going down) costs its slot, not its 10,000-task service.
   */
  private readonly dirtySlots = new Map<string, Set<number>>();
  private readonly timers = new WakeTimers(
    () => this.now(),
    (serviceId) => {
      this.dirty.add(serviceId);
      this.onWake();
    },
  );
  /** Called when a timer makes a service dirty again (the manager then runs a pass). */
  onWake: () => void = () => {};
  private readonly off: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly now: () => number = Date.now,
  ) {
    for (const id of state.services.keys()) this.dirty.add(id);
    for (const t of state.tasks.values()) this.dirty.add(t.serviceId);
    this.off = state.onChange((c) => this.observe(c));
  }

  get hasWork(): boolean {
    return this.dirty.size > 0 || this.dirtySlots.size > 0;
  }

  markAll(): void {
    for (const id of this.state.services.keys()) this.dirty.add(id);
  }

  private observe(c: Change): void {
    if (c.kind === 'service') this.dirty.add(c.id);
    else if (c.kind === 'task') {
      if (mattersToOrchestrator(c.before, c.after)) this.markTask((c.after ?? c.before)!);
    } else if (c.kind === 'node') {
      // A node change matters to global services, and to the slots with tasks on it.
      for (const s of this.state.services.values()) if (s.spec?.mode === ServiceMode.GLOBAL) this.dirty.add(s.id);
      for (const t of this.state.tasksOnNode(c.id)) this.markTask(t);
    }
  }

  private deferSlot(serviceId: string, slot: number): void {
    let slots = this.dirtySlots.get(serviceId);
    if (!slots) this.dirtySlots.set(serviceId, (slots = new Set()));
    slots.add(slot);
  }

  private markTask(t: Task): void {
    if (this.dirty.has(t.serviceId)) return;
    const service = this.state.services.get(t.serviceId);
    if (!service || service.spec?.mode === ServiceMode.GLOBAL) {
      this.dirty.add(t.serviceId); // removed (every task stops) or global (per node): whole
      return;
    }
    let slots = this.dirtySlots.get(t.serviceId);
    if (!slots) this.dirtySlots.set(t.serviceId, (slots = new Set()));
    slots.add(t.slot);
  }

  /**
   * One pass over the dirty services and slots; returns how many were reconciled. With
   * `createLimit`, at most about that many tasks are created; the slots left over stay
   * dirty for the next pass.
   */
  run(createLimit = Infinity): number {
    const ids = [...this.dirty];
    this.dirty.clear();
    const slots = [...this.dirtySlots];
    this.dirtySlots.clear();
    const ctx: OrchestratorContext = {
      state: this.state,
      now: this.now(),
      nodeKeepsTasks: (nodeId, global) => {
        const n = this.state.nodes.get(nodeId);
        if (n === undefined || n.availability === Availability.DRAIN) return false;
        return global || n.status !== NodeStatus.DOWN;
      },
      wakeAt: (serviceId, atMs) => this.timers.at(serviceId, atMs),
      ...(createLimit !== Infinity && {
        createBudget: createLimit,
        deferSlot: (serviceId: string, slot: number) => this.deferSlot(serviceId, slot),
      }),
    };
    const whole = new Set(ids);
    for (const id of ids) {
      const service = this.state.services.get(id);
      if (service) this.reconcileService(ctx, service);
      else this.reconcileRemoved(ctx, id);
    }
    let count = ids.length;
    for (const [id, set] of slots) {
      if (whole.has(id)) continue;
      const service = this.state.services.get(id);
      if (!service) {
        this.reconcileRemoved(ctx, id);
        count++;
        continue;
      }
      if (service.spec?.mode === ServiceMode.GLOBAL) {
        this.reconcileService(ctx, service);
        count++;
        continue;
      }
      const replicas = service.spec?.replicas ?? 0;
      for (const slot of set) {
        if (ctx.createBudget !== undefined && ctx.createBudget <= 0) {
          this.deferSlot(id, slot);
          continue;
        }
        const wanted = slot >= 1 && slot <= replicas;
        reconcileSlot(ctx, service, slot, '', this.state.tasksOfSlot(id, slot), wanted, !wanted);
        count++;
      }
    }
    return count;
  }

  /** Stops following the state and cancels the restart timers; idempotent. */
  async close(): Promise<void> {
    this.off();
    this.timers.clear();
  }

  private reconcileService(ctx: OrchestratorContext, service: Service): void {
    const tasks = this.state.tasksOfService(service.id);
    if (service.spec?.mode === ServiceMode.GLOBAL) reconcileGlobal(ctx, service, tasks);
    else reconcileReplicated(ctx, service, tasks);
  }

  /** The service is gone: stop every task, forget each once it has ended. */
  private reconcileRemoved(ctx: OrchestratorContext, serviceId: string): void {
    for (const t of this.state.tasksOfService(serviceId)) {
      if (isTerminal(observedState(t)) || observedState(t) < TaskState.ASSIGNED) this.state.deleteTask(t.id);
      else stopTask(this.state, t, TaskState.REMOVE, 'service removed', ctx.now);
    }
  }
}

/**
 * Whether a task change can change what reconciling its service decides: a task created or
 * deleted, its desired state changed, it ended (or un-ended). The
 * agents' progress reports (ASSIGNED -> ... -> RUNNING) change none of that, and they are
 * most of the changes: reconciling a 10,000-task service for each batch of them made the
 * orchestrator O(tasks) per status report (what the placement benchmark found).
 */
export function mattersToOrchestrator(before: Task | undefined, after: Task | undefined): boolean {
  if (!before || !after) return true;
  // Being placed on a node is not one either: the scheduler only picks ready, active
  // nodes, and a node that changes later marks the slots on it (observe 'node').
  if (before.desiredState !== after.desiredState) return true;
  return isTerminal(observedState(before)) !== isTerminal(observedState(after));
}
