// Ranking the nodes a group of tasks may go to (swarmkit's spread): placement preferences
// first, then the fewest tasks of the service, then the fewest tasks overall, then hostname.
//
//   preferences [spread=node.labels.zone, spread=node.labels.rack]
//   root ── zone=a (3 tasks) ── rack=1 (1) ── heap of nodes
//        │                  └─ rack=2 (2) ── heap
//        ├─ zone=b (2 tasks) ── ...
//        └─ zone="" (nodes without the label, one group)
//
// Each task goes down the branch with the fewest tasks of the service among those with a
// node left (ties: the value that sorts first), and takes the best node of that leaf's heap.
// A branch counts the tasks of the service on its eligible nodes. Per task: O(depth x
// values) + O(log nodes); without preferences the tree is one heap.
import type { NodeInfo } from '../node-info.js';
import { nodeValue } from '../constraint.js';

interface Branch {
  /** Tasks of the service on this branch's eligible nodes (plus those placed this pass). */
  count: number;
  /** Nodes in the heaps below. */
  available: number;
  children?: Map<string, Branch>;
  heap?: NodeHeap;
}

export class SpreadTree {
  private readonly root: Branch = { count: 0, available: 0 };
  private readonly paths = new Map<NodeInfo, string[]>();

  constructor(
    private readonly serviceId: string,
    /** Each node's place in hostname order (the last tie-break). */
    private readonly order: Map<NodeInfo, number>,
    /** Spread descriptors, outermost first: "node.labels.zone". */
    private readonly preferences: readonly string[] = [],
  ) {}

  get size(): number {
    return this.root.available;
  }

  /** Adds an eligible node, counting its tasks of the service in its branches. */
  add(info: NodeInfo): void {
    const path = this.preferences.map((p) => nodeValue(info.node, p) ?? '');
    this.paths.set(info, path);
    const n = info.tasksByService.get(this.serviceId) ?? 0;
    this.walk(path, (b) => (b.count += n));
    this.push(info);
  }

  /** Takes the node for the next task, counting that task in its branches (undefined: none left). */
  pop(): NodeInfo | undefined {
    let b = this.root;
    const seen: Branch[] = [b];
    while (b.children !== undefined) {
      let best: [string, Branch] | undefined;
      for (const entry of b.children) {
        const c = entry[1];
        if (c.available === 0) continue;
        if (!best || c.count < best[1].count || (c.count === best[1].count && entry[0] < best[0])) best = entry;
      }
      if (!best) return undefined;
      b = best[1];
      seen.push(b);
    }
    const info = b.heap?.pop();
    if (info === undefined) return undefined;
    for (const s of seen) {
      s.available--;
      s.count++;
    }
    return info;
  }

  /** Puts back a node that can take another task of the group (after pop). */
  push(info: NodeInfo): void {
    const path = this.paths.get(info) ?? [];
    const leaf = this.walk(path, (b) => b.available++);
    (leaf.heap ??= new NodeHeap(this.serviceId, this.order)).push(info);
  }

  /** Visits the branches of `path` from the root, creating them; returns the leaf. */
  private walk(path: string[], visit: (b: Branch) => void): Branch {
    let b = this.root;
    visit(b);
    for (const value of path) {
      const children = (b.children ??= new Map<string, Branch>());
      let next = children.get(value);
      if (!next) children.set(value, (next = { count: 0, available: 0 }));
      b = next;
      visit(b);
    }
    return b;
  }
}

/** Min-heap of nodes by spread rank: tasks of the service, then all tasks, then hostname order. */
export class NodeHeap {
  private readonly items: NodeInfo[] = [];
  constructor(
    private readonly serviceId: string,
    private readonly order: Map<NodeInfo, number>,
  ) {}

  get size(): number {
    return this.items.length;
  }

  push(info: NodeInfo): void {
    const a = this.items;
    a.push(info);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(a[i]!, a[parent]!)) break;
      [a[i], a[parent]] = [a[parent]!, a[i]!];
      i = parent;
    }
  }

  pop(): NodeInfo | undefined {
    const a = this.items;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }

  private less(x: NodeInfo, y: NodeInfo): boolean {
    const sx = x.tasksByService.get(this.serviceId) ?? 0;
    const sy = y.tasksByService.get(this.serviceId) ?? 0;
    if (sx !== sy) return sx < sy;
    if (x.activeTasks !== y.activeTasks) return x.activeTasks < y.activeTasks;
    return this.order.get(x)! < this.order.get(y)!;
  }
}
