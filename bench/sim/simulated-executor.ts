// A lean in-memory engine for the placement benchmark (kubemark's "hollow" node): the real
// Agent (register, heartbeats, assignments, batched status reports) runs on top of it and
// only the containers are pretend. A container "starts" after `startDelayMs` and then runs
// until it is stopped; stop and remove are immediate; there are no health checks.
//
// Addresses: every running container gets one IPv4 address on the default network (the
// registry only gives a task an endpoint when it has an address, so the bench pays for
// discovery as a real cluster would). They come from 10.<a>.<b>.<c> per host index and
// counter; they are not routable, nothing ever connects to them.
import type { NetworkAddress, Task } from '../../proto/gen/shoal.js';
import type {
  ContainerState,
  Controller,
  EngineDescription,
  Executor,
  Health,
  ManagedContainer,
  WaitResult,
} from '../../agent/exec/executor.js';
import { AbortedError, NotFoundError } from '../../agent/exec/errors.js';

/** Exit code of a stopped container: 128 + SIGTERM, as `docker stop` gives. */
const STOPPED_EXIT_CODE = 143;

export interface SimulatedExecutorOptions {
  /** The network tasks join by default (the manager's default network is named `shoal`). */
  network?: string;
  /** Time from start() to "running", in ms (0: at once). */
  startDelayMs?: number;
  /** Distinguishes hosts in container ids and addresses. */
  hostIndex: number;
  resources?: EngineDescription['resources'];
}

interface SimContainer {
  id: string;
  taskId: string;
  status: 'created' | 'running' | 'exited';
  exitCode: number;
  address: string;
  /** Resolved when the container exits (wait()). */
  exited: Array<(r: WaitResult) => void>;
}

export class SimulatedExecutor implements Executor {
  readonly containers = new Map<string, SimContainer>(); // by task id
  private readonly network: string;
  private readonly startDelayMs: number;
  private readonly hostIndex: number;
  private readonly resources: EngineDescription['resources'];
  private next = 1;

  constructor(opts: SimulatedExecutorOptions) {
    this.network = opts.network ?? 'shoal';
    this.startDelayMs = opts.startDelayMs ?? 5;
    this.hostIndex = opts.hostIndex;
    this.resources = opts.resources ?? { nanoCpus: 64e9, memoryBytes: 256 * 2 ** 30 };
  }

  async describe(): Promise<EngineDescription> {
    return { resources: this.resources, engineVersion: 'simulated', os: 'linux', arch: 'x86_64' };
  }

  async listManaged(): Promise<ManagedContainer[]> {
    return [...this.containers.values()].map((c) => ({
      id: c.id,
      taskId: c.taskId,
      labels: {},
      status: c.status,
      exitCode: c.exitCode,
      health: 'none',
    }));
  }

  controller(task: Task): Controller {
    return new SimulatedController(this, task);
  }

  get running(): number {
    let n = 0;
    for (const c of this.containers.values()) if (c.status === 'running') n++;
    return n;
  }

  create(taskId: string): SimContainer {
    const n = this.next++;
    const h = this.hostIndex;
    const c: SimContainer = {
      id: `sim${h.toString(16).padStart(4, '0')}${n.toString(16).padStart(8, '0')}`,
      taskId,
      status: 'created',
      exitCode: 0,
      // 10.128.0.0/9 spread by host (up to 32k hosts) and counter (254 per /24, cycling).
      address: `10.${128 + ((h >> 8) & 127)}.${h & 255}.${1 + (n % 254)}`,
      exited: [],
    };
    this.containers.set(taskId, c);
    return c;
  }

  get networkName(): string {
    return this.network;
  }

  get delayMs(): number {
    return this.startDelayMs;
  }
}

class SimulatedController implements Controller {
  private c: SimContainer | undefined;

  constructor(
    private readonly ex: SimulatedExecutor,
    private readonly task: Task,
  ) {
    this.c = ex.containers.get(task.id);
  }

  get containerId(): string | undefined {
    return this.c?.id;
  }

  get addresses(): NetworkAddress[] {
    const c = this.c;
    if (c === undefined || c.status !== 'running') return [];
    const networks = this.task.spec?.networks ?? [];
    const name = networks[0] ?? this.ex.networkName;
    return [{ network: name, ip: c.address }];
  }

  async prepare(): Promise<void> {
    this.c ??= this.ex.containers.get(this.task.id) ?? this.ex.create(this.task.id);
  }

  async start(signal: AbortSignal): Promise<Health> {
    const c = this.live('start');
    if (c.status === 'running') return 'none';
    const delay = this.ex.delayMs;
    if (delay > 0) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, delay);
        const onAbort = () => {
          clearTimeout(timer);
          reject(new AbortedError('start aborted'));
        };
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
    c.status = 'running';
    return 'none';
  }

  async wait(signal: AbortSignal): Promise<WaitResult> {
    const c = this.live('wait for');
    if (c.status !== 'running') return { kind: 'exited', exitCode: c.exitCode };
    return new Promise<WaitResult>((resolve, reject) => {
      const onAbort = () => {
        const i = c.exited.indexOf(done);
        if (i >= 0) c.exited.splice(i, 1);
        reject(new AbortedError('wait aborted'));
      };
      const done = (r: WaitResult) => {
        signal.removeEventListener('abort', onAbort);
        resolve(r);
      };
      c.exited.push(done);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
    });
  }

  async shutdown(): Promise<void> {
    const c = this.c;
    if (c === undefined || c.status !== 'running') return;
    c.status = 'exited';
    c.exitCode = STOPPED_EXIT_CODE;
    const waiters = c.exited;
    c.exited = [];
    for (const w of waiters) w({ kind: 'exited', exitCode: STOPPED_EXIT_CODE });
  }

  async remove(): Promise<void> {
    if (this.c === undefined) return;
    if (this.ex.containers.get(this.task.id) === this.c) this.ex.containers.delete(this.task.id);
    this.c = undefined;
  }

  async inspect(): Promise<ContainerState | undefined> {
    const c = this.c;
    return c === undefined ? undefined : { id: c.id, status: c.status, exitCode: c.exitCode, health: 'none' };
  }

  private live(what: string): SimContainer {
    if (this.c === undefined) throw new NotFoundError(`${what} task ${this.task.id}: no such container`);
    return this.c;
  }
}
