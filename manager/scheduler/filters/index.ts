// The filters every task goes through, cheapest and most common first.
import type { Task } from '../../../proto/gen/shoal.js';
import { Availability, NodeStatus } from '../../../proto/gen/shoal.js';
import type { NodeInfo } from '../node-info.js';
import { hostPortKeys } from '../node-info.js';
import type { Constraint } from '../../../proto/constraint.js';
import { parseConstraint } from '../../../proto/constraint.js';
import { matches } from '../constraint.js';
import type { Filter } from './filter.js';
import { MaxReplicasFilter } from './max-replicas.js';

export class ReadyFilter implements Filter {
  readonly reason = 'node not ready';
  setTask(): boolean {
    return true;
  }
  check(info: NodeInfo): boolean {
    return info.node.status === NodeStatus.READY;
  }
}

export class AvailabilityFilter implements Filter {
  readonly reason = 'node not active (paused or drained)';
  setTask(): boolean {
    return true;
  }
  check(info: NodeInfo): boolean {
    return info.node.availability === Availability.ACTIVE;
  }
}

export class ConstraintFilter implements Filter {
  readonly reason = 'constraint';
  private constraints: Constraint[] = [];
  setTask(task: Task): boolean {
    const exprs = task.spec?.constraints ?? [];
    if (exprs.length === 0) return false;
    this.constraints = exprs.map(parseConstraint);
    return true;
  }
  check(info: NodeInfo): boolean {
    return this.constraints.every((c) => matches(info.node, c));
  }
}

/** Reserved cpu or memory: what the node has minus what its alive tasks reserve. */
class ReservationFilter implements Filter {
  private want = 0;
  constructor(
    readonly reason: string,
    private readonly wanted: (task: Task) => number,
    private readonly free: (info: NodeInfo) => number,
  ) {}
  setTask(task: Task): boolean {
    this.want = this.wanted(task);
    return this.want > 0;
  }
  check(info: NodeInfo): boolean {
    return this.free(info) >= this.want;
  }
}

export const cpuFilter = () =>
  new ReservationFilter(
    'insufficient cpu',
    (t) => t.spec?.reservations?.nanoCpus ?? 0,
    (i) => (i.node.description?.resources?.nanoCpus ?? 0) - i.reservedNanoCpus,
  );

export const memoryFilter = () =>
  new ReservationFilter(
    'insufficient memory',
    (t) => t.spec?.reservations?.memoryBytes ?? 0,
    (i) => (i.node.description?.resources?.memoryBytes ?? 0) - i.reservedMemoryBytes,
  );

export class HostPortFilter implements Filter {
  readonly reason = 'host port in use';
  private ports: string[] = [];
  setTask(task: Task): boolean {
    this.ports = hostPortKeys(task);
    return this.ports.length > 0;
  }
  check(info: NodeInfo): boolean {
    return this.ports.every((p) => !info.hostPorts.has(p));
  }
}

export function defaultFilters(): Filter[] {
  return [
    new ReadyFilter(),
    new AvailabilityFilter(),
    new ConstraintFilter(),
    cpuFilter(),
    memoryFilter(),
    new HostPortFilter(),
    new MaxReplicasFilter(),
  ];
}
