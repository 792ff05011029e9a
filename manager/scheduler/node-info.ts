// What the scheduler knows about a node: its record plus what is already placed on it.
// Kept up to date incrementally from task changes, so a scheduling pass never rescans tasks.
import { type Node, PublishMode, type Task } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';

export interface NodeInfo {
  node: Node;
  reservedNanoCpus: number;
  reservedMemoryBytes: number;
  /** alive tasks per service that are meant to run (spread counts these) */
  tasksByService: Map<string, number>;
  activeTasks: number;
  /** "tcp/8080" -> count of alive tasks holding that host port */
  hostPorts: Map<string, number>;
}

/** What one task contributes to its node's info. */
interface Contribution {
  nodeId: string;
  serviceId: string;
  nanoCpus: number;
  memoryBytes: number;
  hostPorts: string[];
  counts: boolean;
}

export function hostPortKeys(task: Task): string[] {
  const out: string[] = [];
  for (const p of task.spec?.ports ?? []) {
    if (p.publishMode === PublishMode.HOST && p.publishedPort > 0)
      out.push(`${p.protocol || 'tcp'}/${p.publishedPort}`);
  }
  return out;
}

function contributionOf(task: Task | undefined): Contribution | undefined {
  if (!task || !task.nodeId) return undefined;
  const state = task.status?.state ?? TaskState.NEW;
  if (state >= TaskState.COMPLETE) return undefined;
  return {
    nodeId: task.nodeId,
    serviceId: task.serviceId,
    nanoCpus: task.spec?.reservations?.nanoCpus ?? 0,
    memoryBytes: task.spec?.reservations?.memoryBytes ?? 0,
    hostPorts: hostPortKeys(task),
    counts: task.desiredState === TaskState.RUNNING,
  };
}

export class NodeInfoIndex {
  readonly infos = new Map<string, NodeInfo>();
  private readonly contributions = new Map<string, Contribution>();

  upsertNode(node: Node): void {
    const info = this.infos.get(node.id);
    if (info) info.node = node;
    else
      this.infos.set(node.id, {
        node,
        reservedNanoCpus: 0,
        reservedMemoryBytes: 0,
        tasksByService: new Map(),
        activeTasks: 0,
        hostPorts: new Map(),
      });
  }

  removeNode(id: string): void {
    this.infos.delete(id);
  }

  /** Applies a task change: O(ports) work, whatever the cluster's size. */
  taskChanged(id: string, after: Task | undefined): void {
    const old = this.contributions.get(id);
    const next = contributionOf(after);
    if (old) this.apply(old, -1);
    if (next) {
      this.contributions.set(id, next);
      this.apply(next, +1);
    } else this.contributions.delete(id);
  }

  private apply(c: Contribution, sign: 1 | -1): void {
    const info = this.infos.get(c.nodeId);
    if (!info) return;
    info.reservedNanoCpus += sign * c.nanoCpus;
    info.reservedMemoryBytes += sign * c.memoryBytes;
    if (c.counts) {
      info.activeTasks += sign;
      const n = (info.tasksByService.get(c.serviceId) ?? 0) + sign;
      if (n > 0) info.tasksByService.set(c.serviceId, n);
      else info.tasksByService.delete(c.serviceId);
    }
    for (const p of c.hostPorts) {
      const n = (info.hostPorts.get(p) ?? 0) + sign;
      if (n > 0) info.hostPorts.set(p, n);
      else info.hostPorts.delete(p);
    }
  }
}
