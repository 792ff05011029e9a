// An in-memory Executor for agent tests: containers live in a Map, survive a worker/agent
// restart (reuse the same FakeExecutor), and exit or change health when a test says so.
// A container has a health check when its spec has one (["NONE"]: none), or else when its
// image is in `imageHealthChecks`; it is 'starting' from its start until the test says.
import type { Task } from '../../proto/gen/shoal.js';
import { LABEL } from '../../proto/naming.js';
import type {
  ContainerState,
  ContainerStatus,
  Controller,
  Health,
  WaitResult,
  WaitUntil,
} from '../../agent/exec/controller.js';
import { AbortedError, ImageError, NotFoundError, UnavailableError } from '../../agent/exec/errors.js';
import {
  DEFAULT_STOP_GRACE_MS,
  stopGraceMs,
  type EngineDescription,
  type Executor,
  type ManagedContainer,
} from '../../agent/exec/executor.js';
import { containerLabels, taskContainerName } from '../../agent/exec/docker/spec.js';

export interface FakeContainer {
  id: string;
  name: string;
  taskId: string;
  image: string;
  labels: Record<string, string>;
  status: ContainerStatus;
  exitCode: number;
  /** Its health check's status while it runs ('none': it has no check). */
  health: Health;
  /** How many times it was started (adoption must never start it again). */
  starts: number;
  /** Grace period of the last stop, in ms. */
  stopGraceMs?: number;
  /** The grace period the container was created with (its spec's, or 10 s). */
  createdGraceMs: number;
}

/** Exit code of a container stopped by shutdown(): 128 + SIGTERM. */
export const STOPPED_EXIT_CODE = 143;

export class FakeExecutor implements Executor {
  /** Live containers by id; removed ones are gone from here. */
  readonly containers = new Map<string, FakeContainer>();
  /** Every engine operation, e.g. "create t1", "start t1", "stop t1", "remove t1", "pull img". */
  readonly ops: string[] = [];
  /** Images present on the "host". */
  readonly images = new Set<string>(['busybox:latest']);
  /** Task id -> grace period (ms) of its container's last stop (kept after removal). */
  readonly stopped = new Map<string, number>();
  /** Images whose own health check a container inherits when its spec has none. */
  readonly imageHealthChecks = new Set<string>();
  /** Images a pull can fetch; any other image fails to pull (like "repository does not exist"). */
  readonly registry = new Set<string>(['registry/app:1']);
  /** While set, pulls wait for it (or for their AbortSignal). */
  pullGate: Promise<void> | undefined;
  /** When it returns an error, start() of that task fails with it. */
  startError: (task: Task) => Error | undefined = () => undefined;
  /** Every call fails with UnavailableError while this is > 0; each failed call decrements it. */
  unavailableCalls = 0;
  description: EngineDescription = {
    resources: { nanoCpus: 4e9, memoryBytes: 8 * 2 ** 30 },
    engineVersion: 'fake-20.10',
    os: 'linux',
    arch: 'x86_64',
  };

  private nextId = 1;
  private readonly waiters = new Map<string, Set<{ until: WaitUntil; resolve: (r: WaitResult) => void }>>();

  async describe(): Promise<EngineDescription> {
    this.engineCall();
    return this.description;
  }

  async listManaged(): Promise<ManagedContainer[]> {
    this.engineCall();
    return [...this.containers.values()].map((c) => ({
      id: c.id,
      taskId: c.taskId,
      labels: { ...c.labels },
      status: c.status,
      exitCode: c.exitCode,
      health: c.status === 'running' ? c.health : 'none',
    }));
  }

  controller(task: Task, existing?: ManagedContainer): Controller {
    return new FakeController(this, task, existing?.id);
  }

  // ---------------------------------------------------------------- test controls

  /** The (live) container of a task. */
  byTask(taskId: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.taskId === taskId);
  }

  /** Operations of one task, without the task id: ["create", "start", ...]. */
  opsOf(taskId: string): string[] {
    return this.ops.filter((o) => o.endsWith(` ${taskId}`)).map((o) => o.slice(0, o.indexOf(' ')));
  }

  /** The task's running container exits with this code (137: `docker kill`). */
  exit(taskId: string, exitCode: number): void {
    const c = this.mustByTask(taskId);
    c.status = 'exited';
    c.exitCode = exitCode;
    this.wake(c.id, { kind: 'exited', exitCode });
  }

  /** The task's container passes its health check. */
  healthy(taskId: string): void {
    const c = this.mustByTask(taskId);
    c.health = 'healthy';
    this.wake(c.id, { kind: 'healthy' }, 'healthy');
  }

  /** The task's container fails its health check (it keeps running). */
  unhealthy(taskId: string, detail = 'probe failed'): void {
    const c = this.mustByTask(taskId);
    c.health = 'unhealthy';
    this.wake(c.id, { kind: 'unhealthy', detail });
  }

  /** Put a container there as if an earlier agent run had made it. */
  seed(task: Task, status: ContainerStatus, exitCode = 0, health: Health = 'none'): FakeContainer {
    const c = this.create(task);
    c.status = status;
    c.exitCode = exitCode;
    c.health = health;
    if (status !== 'created') c.starts = 1;
    return c;
  }

  // ---------------------------------------------------------------- used by FakeController

  engineCall(): void {
    if (this.unavailableCalls > 0) {
      this.unavailableCalls--;
      throw new UnavailableError('fake engine unreachable (ECONNREFUSED)');
    }
  }

  create(task: Task): FakeContainer {
    const c: FakeContainer = {
      id: `fake${String(this.nextId++).padStart(8, '0')}`,
      name: taskContainerName(task),
      taskId: task.id,
      image: task.spec?.image ?? '',
      labels: containerLabels(task),
      status: 'created',
      exitCode: 0,
      health: 'none',
      starts: 0,
      createdGraceMs: stopGraceMs(task) ?? DEFAULT_STOP_GRACE_MS,
    };
    this.containers.set(c.id, c);
    this.ops.push(`create ${task.id}`);
    return c;
  }

  /** Whether a container of this task runs a health check. */
  hasHealthCheck(task: Task): boolean {
    const test = task.spec?.health?.test ?? [];
    if (test.length > 0) return test[0] !== 'NONE';
    return this.imageHealthChecks.has(task.spec?.image ?? '');
  }

  waitFor(id: string, until: WaitUntil, signal: AbortSignal): Promise<WaitResult> {
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(id);
      if (set === undefined) this.waiters.set(id, (set = new Set()));
      const waiter = {
        until,
        resolve: (r: WaitResult) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
      };
      const onAbort = () => {
        set.delete(waiter);
        reject(new AbortedError('wait aborted'));
      };
      set.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort(); // as the Docker controller: an abort before the wait counts
    });
  }

  /** Resolve the waits of a container; with `only`, just those waiting until that. */
  wake(id: string, r: WaitResult, only?: WaitUntil): void {
    const set = this.waiters.get(id);
    for (const w of [...(set ?? [])]) {
      if (only !== undefined && w.until !== only) continue;
      set?.delete(w);
      w.resolve(r);
    }
  }

  private mustByTask(taskId: string): FakeContainer {
    const c = this.byTask(taskId);
    if (c === undefined) throw new Error(`fake executor: no container for task ${taskId}`);
    return c;
  }
}

class FakeController implements Controller {
  constructor(
    private readonly fx: FakeExecutor,
    private readonly task: Task,
    private id: string | undefined,
  ) {}

  get containerId(): string | undefined {
    return this.id;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    this.fx.engineCall();
    if (this.id !== undefined && this.fx.containers.has(this.id)) return;
    const byName = [...this.fx.containers.values()].find((c) => c.name === taskContainerName(this.task));
    if (byName !== undefined && byName.labels[LABEL.taskId] === this.task.id) {
      this.id = byName.id;
      return;
    }
    const image = this.task.spec?.image ?? '';
    if (!this.fx.images.has(image)) {
      if (!this.fx.registry.has(image)) {
        throw new ImageError(`image "${image}": pull access denied, repository does not exist`);
      }
      this.fx.ops.push(`pull ${image}`);
      if (this.fx.pullGate !== undefined) await abortable(this.fx.pullGate, signal);
      if (signal.aborted) throw new AbortedError('pull aborted');
      this.fx.images.add(image);
    }
    this.id = this.fx.create(this.task).id;
  }

  async start(): Promise<Health> {
    this.fx.engineCall();
    const c = this.live('start');
    const err = this.fx.startError(this.task);
    if (err !== undefined) throw err;
    if (c.status === 'running') return c.health;
    c.status = 'running';
    c.health = this.fx.hasHealthCheck(this.task) ? 'starting' : 'none';
    c.starts++;
    this.fx.ops.push(`start ${this.task.id}`);
    return c.health;
  }

  async wait(signal: AbortSignal, until: WaitUntil = 'exit'): Promise<WaitResult> {
    this.fx.engineCall();
    const c = this.live('wait for');
    if (c.status !== 'running') return { kind: 'exited', exitCode: c.exitCode };
    if (c.health === 'unhealthy') return { kind: 'unhealthy', detail: 'probe failed' };
    if (until === 'healthy' && c.health !== 'starting') return { kind: 'healthy' };
    return this.fx.waitFor(c.id, until, signal);
  }

  async shutdown(graceMs: number | undefined): Promise<void> {
    this.fx.engineCall();
    const c = this.id === undefined ? undefined : this.fx.containers.get(this.id);
    if (c === undefined || c.status !== 'running') return;
    c.status = 'exited';
    c.exitCode = STOPPED_EXIT_CODE;
    c.stopGraceMs = graceMs ?? c.createdGraceMs;
    this.fx.stopped.set(this.task.id, c.stopGraceMs);
    this.fx.ops.push(`stop ${this.task.id}`);
    this.fx.wake(c.id, { kind: 'exited', exitCode: STOPPED_EXIT_CODE });
  }

  async remove(): Promise<void> {
    this.fx.engineCall();
    if (this.id === undefined || !this.fx.containers.has(this.id)) return;
    this.fx.containers.delete(this.id);
    this.fx.ops.push(`remove ${this.task.id}`);
  }

  async inspect(): Promise<ContainerState | undefined> {
    this.fx.engineCall();
    const c = this.id === undefined ? undefined : this.fx.containers.get(this.id);
    return c === undefined
      ? undefined
      : { id: c.id, status: c.status, exitCode: c.exitCode, health: c.status === 'running' ? c.health : 'none' };
  }

  private live(what: string): FakeContainer {
    const c = this.id === undefined ? undefined : this.fx.containers.get(this.id);
    if (c === undefined) throw new NotFoundError(`${what} task ${this.task.id}: no such container`);
    return c;
  }
}

function abortable(p: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
    p.then(resolve, resolve);
  });
}
