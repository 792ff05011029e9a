// Builders for nodes, specs and a manager core (state + control loop) on a memory store,
// with a controllable clock. Used by the manager's unit tests.
import type { NetworkAddress, Node, Task } from '../../proto/gen/shoal.js';
import { ServiceSpec } from '../../proto/gen/shoal.js';
import { Availability, NodeStatus, ServiceMode } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import { ClusterState } from '../../manager/store/cluster-state.js';
import { ControlLoop } from '../../manager/control-loop.js';
import { ControlApi } from '../../manager/controlapi/control-api.js';
import { MemoryStore } from '../../manager/store/memory-store.js';
import { Writer } from '../../manager/store/writer.js';

export const GiB = 1024 ** 3;

export function makeNode(
  hostname: string,
  opts: Partial<Node> & { cpus?: number; memory?: number; engineLabels?: Record<string, string> } = {},
): Node {
  return {
    id: opts.id ?? `id-${hostname}`,
    description: {
      hostname,
      resources: { nanoCpus: (opts.cpus ?? 2) * 1e9, memoryBytes: opts.memory ?? 4 * GiB },
      labels: opts.engineLabels ?? {},
      engineVersion: '20.10.24',
      os: 'linux',
      arch: 'x86_64',
      address: '10.0.0.1',
    },
    labels: opts.labels ?? {},
    availability: opts.availability ?? Availability.ACTIVE,
    status: opts.status ?? NodeStatus.READY,
    statusMessage: '',
    createdAtMs: 0,
    updatedAtMs: 0,
  };
}

export function makeSpec(name: string, opts: Partial<ServiceSpec> = {}): ServiceSpec {
  return {
    ...ServiceSpec.fromPartial({}),
    name,
    image: 'registry.local/busybox:latest',
    command: [],
    env: [],
    labels: {},
    mode: ServiceMode.REPLICATED,
    replicas: 1,
    constraints: [],
    reservations: undefined,
    limits: undefined,
    ports: [],
    restart: undefined,
    health: undefined,
    networks: [],
    stopGracePeriodMs: undefined,
    secrets: [],
    configs: [],
    ...opts,
  };
}

/** A manager without gRPC: memory store, state, control loop, control API, fake clock. */
export class Core {
  clock = 1_000_000;
  readonly store = new MemoryStore();
  readonly writer = new Writer(this.store);
  readonly state = new ClusterState(this.writer);
  readonly loop: ControlLoop;
  readonly api: ControlApi;

  constructor(nodes: Node[] = []) {
    for (const n of nodes) this.state.putNode(n);
    this.loop = new ControlLoop(this.state, () => this.clock);
    this.api = new ControlApi({ state: this.state, sync: () => this.writer.sync(), now: () => this.clock });
    this.loop.enable();
  }

  /** Runs the decision loop to its fixed point synchronously. */
  settle(): void {
    this.loop.pass();
  }

  tasksOf(serviceName: string): Task[] {
    const s = this.state.serviceByName(serviceName);
    return s ? this.state.tasksOfService(s.id) : [];
  }

  live(serviceName: string): Task[] {
    return this.tasksOf(serviceName).filter((t) => t.desiredState === TaskState.RUNNING);
  }

  /** Per hostname, how many of the service's tasks are meant to run there. */
  spread(serviceName: string): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.live(serviceName)) {
      if (!t.nodeId) continue;
      const h = this.state.nodes.get(t.nodeId)?.description?.hostname ?? '?';
      out[h] = (out[h] ?? 0) + 1;
    }
    return out;
  }

  /** Plays the agents: every assigned task reaches RUNNING, every stopping task SHUTDOWN. */
  agentsReport(): void {
    for (const t of [...this.state.tasks.values()]) {
      const s = t.status?.state ?? TaskState.NEW;
      if (s < TaskState.ASSIGNED || s >= TaskState.COMPLETE) continue;
      const next = t.desiredState === TaskState.RUNNING ? TaskState.RUNNING : TaskState.SHUTDOWN;
      if (s === next) continue;
      this.report(t.id, next);
    }
    this.settle();
  }

  report(
    taskId: string,
    state: TaskState,
    extra: { exitCode?: number; err?: string; addresses?: NetworkAddress[] } = {},
  ): void {
    const t = this.state.tasks.get(taskId)!;
    this.state.putTask({
      ...t,
      status: {
        state,
        message: '',
        err: extra.err ?? '',
        containerId: `c-${taskId}`,
        exitCode: extra.exitCode ?? 0,
        timestampMs: this.clock,
        addresses: extra.addresses ?? [],
      },
    });
  }

  async close(): Promise<void> {
    await this.loop.close();
  }
}
