// --max-replicas-per-node: a node already running that many tasks of the service is not
// eligible (Swarm's MaxReplicasFilter). Counts are the node index's alive tasks per service,
// kept incrementally, so a check is one map lookup.
import type { Task } from '../../../proto/gen/shoal.js';
import type { NodeInfo } from '../node-info.js';
import type { Filter } from './filter.js';

export class MaxReplicasFilter implements Filter {
  reason = 'max replicas per node limit reached';
  private serviceId = '';
  private max = 0;

  setTask(task: Task): boolean {
    this.max = task.spec?.maxReplicasPerNode ?? 0;
    this.serviceId = task.serviceId;
    this.reason = `max replicas per node limit (${this.max}) reached`;
    return this.max > 0;
  }

  check(info: NodeInfo): boolean {
    return (info.tasksByService.get(this.serviceId) ?? 0) < this.max;
  }
}
