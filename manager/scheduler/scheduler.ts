// Places pending tasks: filter pipeline, then spread (fewest tasks of this service on the
// node, then fewest tasks overall). Tasks no node can take stay PENDING with the reason in
// status.err, and are tried again whenever a node or the resources in use change.
import type { Node, Task } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import type { NodeInfo } from './node-info.js';
import { NodeInfoIndex } from './node-info.js';
import { Pipeline } from './pipeline.js';
import { defaultFilters } from './filters/index.js';
import { NetworkFilter } from './filters/network.js';

export function isSchedulable(t: Task): boolean {
  return t.desiredState === TaskState.RUNNING && (t.status?.state ?? TaskState.NEW) < TaskState.ASSIGNED;
}

export interface ScheduleResult {
  assigned: number;
  stillPending: number;
}

export class Scheduler {
  readonly index = new NodeInfoIndex();
  private readonly pending = new Set<string>();
  private readonly pipeline: Pipeline;
  /** Set when nodes or resources changed, so pending tasks deserve another try. */
  private capacityChanged = true;

  constructor(
    private readonly state: ClusterState,
    private readonly now: () => number = Date.now,
  ) {
    this.pipeline = new Pipeline([...defaultFilters(), new NetworkFilter(state)]);
    for (const n of state.nodes.values()) this.index.upsertNode(n);
    for (const t of state.tasks.values()) {
      this.index.taskChanged(t.id, t);
      if (isSchedulable(t)) this.pending.add(t.id);
    }
    state.onChange((c) => this.observe(c));
  }

  get pendingCount(): number {
    return this.pending.size;
  }

  /** True when a pass could place something. */
  get hasWork(): boolean {
    return this.pending.size > 0 && this.capacityChanged;
  }

  private observe(c: Change): void {
    if (c.kind === 'node') {
      if (c.after) this.index.upsertNode(c.after);
      else this.index.removeNode(c.id);
      this.capacityChanged = true;
    } else if (c.kind === 'lease' || c.kind === 'network') {
      this.capacityChanged = true;
    } else if (c.kind === 'task') {
      this.index.taskChanged(c.id, c.after);
      if (c.after && isSchedulable(c.after)) {
        if (!this.pending.has(c.id)) {
          this.pending.add(c.id);
          this.capacityChanged = true;
        }
      } else {
        this.pending.delete(c.id);
        // A task that stopped holding a node frees resources and ports.
        if (c.before?.nodeId && (!c.after || (c.after.status?.state ?? 0) >= TaskState.COMPLETE)) this.capacityChanged = true;
      }
    }
  }

  /** One scheduling pass over every pending task. */
  run(): ScheduleResult {
    this.capacityChanged = false;
    if (this.pending.size === 0) return { assigned: 0, stillPending: 0 };
    const tasks: Task[] = [];
    for (const id of this.pending) {
      const t = this.state.tasks.get(id);
      if (t) tasks.push(t);
    }
    // Group a service's tasks together (same spec), lowest slots first.
    tasks.sort((a, b) => (a.serviceId < b.serviceId ? -1 : a.serviceId > b.serviceId ? 1 : a.slot - b.slot));
    const nodes = [...this.index.infos.values()].sort((a, b) => hostnameOf(a.node).localeCompare(hostnameOf(b.node)));
    let assigned = 0;
    for (const task of tasks) {
      const choice = this.place(task, nodes);
      if (choice.node) {
        this.assign(task, choice.node);
        assigned++;
      } else this.markPending(task, choice.reason);
    }
    return { assigned, stillPending: this.pending.size };
  }

  private place(task: Task, nodes: NodeInfo[]): { node?: Node; reason: string } {
    this.pipeline.setTask(task);
    if (task.nodeId) {
      // A global task is born on its node: only check that node.
      const info = this.index.infos.get(task.nodeId);
      if (info && this.pipeline.check(info)) return { node: info.node, reason: '' };
      return { reason: this.pipeline.explain(1) };
    }
    let best: NodeInfo | undefined;
    let bestService = Infinity;
    let bestTotal = Infinity;
    for (const info of nodes) {
      const forService = info.tasksByService.get(task.serviceId) ?? 0;
      // Cheap rank test first: only run the filters on a node that would win. Until one
      // passes, every node is checked, so the explanation counts them all.
      if (forService > bestService || (forService === bestService && info.activeTasks >= bestTotal)) continue;
      if (!this.pipeline.check(info)) continue;
      best = info;
      bestService = forService;
      bestTotal = info.activeTasks;
    }
    if (best) return { node: best.node, reason: '' };
    return { reason: this.pipeline.explain(nodes.length) };
  }

  private assign(task: Task, node: Node): void {
    this.state.putTask({
      ...task,
      nodeId: node.id,
      status: {
        state: TaskState.ASSIGNED,
        message: `scheduled on ${hostnameOf(node)}`,
        err: '',
        containerId: '',
        exitCode: 0,
        timestampMs: this.now(),
        addresses: [],
      },
    });
  }

  private markPending(task: Task, reason: string): void {
    const s = task.status;
    if (s && s.state === TaskState.PENDING && s.err === reason) return; // nothing new: no write
    this.state.putTask({
      ...task,
      status: {
        state: TaskState.PENDING,
        message: 'waiting for a suitable node',
        err: reason,
        containerId: '',
        exitCode: 0,
        timestampMs: this.now(),
        addresses: [],
      },
    });
  }
}

export function hostnameOf(node: Node): string {
  return node.description?.hostname ?? node.id;
}
