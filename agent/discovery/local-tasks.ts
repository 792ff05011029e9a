// This host's tasks, as discovery needs them (fed by the worker, see TaskObserver):
//   - who asks: a DNS query's source address -> the networks of the task that has it;
//   - local fast path: a task that stops serving leaves the cache's answers at once (a killed
//     container's exit, an unhealthy check, a shutdown), not when the manager's answer comes.
import type { TaskStatus } from '../../proto/gen/shoal.js';
import { isTerminal, TaskState } from '../../proto/task-state.js';
import type { TaskObserver } from '../worker.js';
import { contains, parseIpv4, tryParseCidr } from '../../proto/cidr.js';

export interface TaskDropper {
  dropTask(service: string, taskId: string): void;
}

export class LocalTasks implements TaskObserver {
  /** IPv4 address -> the task that has it and all of that task's networks. */
  private readonly byIp = new Map<string, { taskId: string; networks: string[] }>();
  private readonly ipsOf = new Map<string, string[]>();

  constructor(private readonly cache?: TaskDropper) {}

  status(taskId: string, serviceName: string, status: TaskStatus): void {
    if (isTerminal(status.state)) {
      this.forget(taskId);
      this.cache?.dropTask(serviceName, taskId);
      return;
    }
    if (status.state >= TaskState.STARTING && status.addresses.length > 0) {
      this.forget(taskId);
      const networks = status.addresses.map((a) => a.network);
      const ips = status.addresses.map((a) => a.ip).filter((ip) => ip !== '');
      for (const ip of ips) this.byIp.set(ip, { taskId, networks });
      this.ipsOf.set(taskId, ips);
    }
  }

  stopping(taskId: string, serviceName: string): void {
    // Its container still runs (and may still ask): only its endpoint goes.
    this.cache?.dropTask(serviceName, taskId);
  }

  gone(taskId: string, serviceName: string): void {
    this.forget(taskId);
    this.cache?.dropTask(serviceName, taskId);
  }

  /** The networks of this host's task with address `ip`, if one has it. */
  networksOf(ip: string): string[] | undefined {
    return this.byIp.get(ip)?.networks;
  }

  private forget(taskId: string): void {
    for (const ip of this.ipsOf.get(taskId) ?? []) {
      // An address may already belong to a newer task (Docker reuses them).
      if (this.byIp.get(ip)?.taskId === taskId) this.byIp.delete(ip);
    }
    this.ipsOf.delete(taskId);
  }
}

/** The networks a DNS query's sender shares answers on; 'all' for the host itself. */
export type AskerNetworks = ReadonlySet<string> | 'all';

export interface AskerScope {
  networksOf(sourceIp: string): AskerNetworks;
}

export interface HostAskersOptions {
  tasks: { networksOf(ip: string): string[] | undefined };
  /** This host's leases of the networks ready here. */
  leases: () => Array<{ name: string; subnet: string }>;
}

const NONE: ReadonlySet<string> = new Set();

/**
 * Who asks, by source address: one of this host's tasks (all its networks), else the network
 * whose lease on this host holds the address, else loopback = the host itself (every
 * network: for debugging with dig on the host), else nobody (no cluster name resolves).
 */
export class HostAskers implements AskerScope {
  constructor(private readonly opts: HostAskersOptions) {}

  networksOf(sourceIp: string): AskerNetworks {
    const ip = sourceIp.startsWith('::ffff:') ? sourceIp.slice('::ffff:'.length) : sourceIp;
    const own = this.opts.tasks.networksOf(ip);
    if (own !== undefined) return new Set(own);
    const n = parseIpv4(ip);
    if (n !== undefined) {
      for (const l of this.opts.leases()) {
        const c = tryParseCidr(l.subnet);
        if (c !== undefined && contains(c, n)) return new Set([l.name]);
      }
      if (n >>> 24 === 127) return 'all';
    }
    if (ip === '::1') return 'all';
    return NONE;
  }
}
