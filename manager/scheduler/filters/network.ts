// A node can run a task only once it holds a subnet lease on each of the task's networks.
import type { Task } from '../../../proto/gen/shoal.js';
import type { ClusterState } from '../../store/cluster-state.js';
import { leaseId } from '../../store/cluster-state.js';
import type { NodeInfo } from '../node-info.js';
import type { Filter } from './filter.js';

export class NetworkFilter implements Filter {
  reason = 'no free subnet on the network';
  private networkIds: string[] = [];

  constructor(private readonly state: ClusterState) {}

  setTask(task: Task): boolean {
    const names = task.spec?.networks ?? [];
    this.networkIds = [];
    for (const name of names) {
      const n = this.state.networkByName(name);
      if (n) this.networkIds.push(n.id);
    }
    if (names.length > 0) this.reason = `no free subnet on network ${names.join(', ')} for the node`;
    return this.networkIds.length > 0;
  }

  check(info: NodeInfo): boolean {
    return this.networkIds.every((id) => this.state.leases.has(leaseId(id, info.node.id)));
  }
}
