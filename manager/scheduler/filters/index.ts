// The filters every task goes through, cheapest and most common first.
import type { Task } from '../../../proto/gen/shoal.js';
import { Availability, NodeStatus } from '../../../proto/gen/shoal.js';
import type { NodeInfo } from '../node-info.js';
import { hostPortKeys } from '../node-info.js';
import type { Constraint } from '../constraint.js';
import { matches, parseConstraint } from '../constraint.js';
import type { Filter } from './filter.js';

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

export class CpuFilter implements Filter {
  readonly reason = 'insufficient cpu';
  private want = 0;
  setTask(task: Task): boolean {
    this.want = task.spec?.reservations?.nanoCpus ?? 0;
    return this.want > 0;
  }
  check(info: NodeInfo): boolean {
    const capacity = info.node.description?.resources?.nanoCpus ?? 0;
    return capacity - info.reservedNanoCpus >= this.want;
  }
}

export class MemoryFilter implements Filter {
  readonly reason = 'insufficient memory';
  private want = 0;
  setTask(task: Task): boolean {
    this.want = task.spec?.reservations?.memoryBytes ?? 0;
    return this.want > 0;
  }
  check(info: NodeInfo): boolean {
    const capacity = info.node.description?.resources?.memoryBytes ?? 0;
    return capacity - info.reservedMemoryBytes >= this.want;
  }
}

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
  return [new ReadyFilter(), new AvailabilityFilter(), new ConstraintFilter(), new CpuFilter(), new MemoryFilter(), new HostPortFilter()];
}
