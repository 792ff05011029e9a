// Runs a task through the filters and explains the failures when no node passes.
import type { Task } from '../../proto/gen/shoal.js';
import type { Filter } from './filters/filter.js';
import { defaultFilters } from './filters/index.js';
import type { NodeInfo } from './node-info.js';

export class Pipeline {
  private active: Filter[] = [];
  private failures = new Map<string, number>();

  constructor(private readonly filters: Filter[] = defaultFilters()) {}

  setTask(task: Task): void {
    this.active = this.filters.filter((f) => f.setTask(task));
    this.failures.clear();
  }

  /** True when the node passes every filter; otherwise counts the first failing one. */
  check(info: NodeInfo): boolean {
    for (const f of this.active) {
      if (!f.check(info)) {
        this.failures.set(f.reason, (this.failures.get(f.reason) ?? 0) + 1);
        return false;
      }
    }
    return true;
  }

  /** "no suitable node (2 nodes: constraint; 1 node: insufficient memory)" */
  explain(nodeCount: number): string {
    if (nodeCount === 0) return 'no suitable node (no nodes in the cluster)';
    const parts = [...this.failures.entries()]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([reason, n]) => `${n} node${n === 1 ? '' : 's'}: ${reason}`);
    return `no suitable node (${parts.join('; ')})`;
  }
}
