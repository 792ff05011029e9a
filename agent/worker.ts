// The worker owns one TaskRunner per assigned task (swarmkit's agent/worker.go).
//
//   start()                 list the containers carrying LABEL.taskId (stopped ones too)
//   COMPLETE set            reconcile to exactly that set; a listed container whose task is in
//                           the first set is adopted, any other listed container is removed
//   INCREMENTAL             add/update the given tasks, remove the given ids
//   secrets, configs        kept in memory (exec/payloads.ts) while an assigned task uses them;
//                           each controller reads its task's from there
//   close()                 stop every runner, leave every container as it is
//
// A task that leaves the set is shut down and its container removed; it reports nothing more.
import { AssignmentsMessage_Kind, Task, type AssignmentsMessage, type TaskStatus } from '../proto/gen/shoal.js';
import type { LifecycleState } from '../proto/lifecycle.js';
import { LABEL } from '../proto/naming.js';
import type { Executor, ManagedContainer } from './exec/executor.js';
import { Payloads } from './exec/payloads.js';
import { silentLog, type Log } from './log.js';
import { TaskRunner } from './task-runner.js';

/** Where runners send their status reports (the StatusReporter, or a fake in tests). */
export interface StatusSink {
  report(taskId: string, status: TaskStatus): void;
  /** The task left the assignment set: there is nothing more to re-send for it. */
  forget(taskId: string): void;
}

/**
 * Follows what this host's tasks do, for discovery (agent/discovery/local-tasks.ts): their
 * addresses (who asks a DNS query) and the moment one stops serving (its endpoint leaves the
 * answers at once, before the manager says so).
 */
export interface TaskObserver {
  /** A status the task's runner reported (it carries the addresses once the task runs). */
  status(taskId: string, serviceName: string, status: TaskStatus): void;
  /** The runner is about to stop the task's container (unhealthy, shutdown, unassigned). */
  stopping(taskId: string, serviceName: string): void;
  /** The task left this node's assignment set. */
  gone(taskId: string, serviceName: string): void;
}

export interface WorkerOptions {
  executor: Executor;
  reporter: StatusSink;
  observer?: TaskObserver;
  log?: Log;
  /** First retry delay for transient engine errors (tests make it short). */
  retryMinMs?: number;
  now?: () => number;
}

export class Worker {
  private readonly executor: Executor;
  private readonly reporter: StatusSink;
  private readonly observer: TaskObserver | undefined;
  private readonly log: Log;
  private readonly retryMinMs: number | undefined;
  private readonly now: (() => number) | undefined;

  private state: LifecycleState = 'new';
  private closing: Promise<void> | undefined;
  private readonly runners = new Map<string, TaskRunner>();
  /** The task each runner was last given (what the payloads are kept for). */
  private readonly assigned = new Map<string, Task>();
  /** The secrets' and configs' data the assigned tasks use; in memory only. */
  readonly payloads = new Payloads();
  /** By task id: the latest runner whose task left the set, until its container is gone. */
  private readonly departing = new Map<string, TaskRunner>();
  /** Containers listed at start, by task id, until the first COMPLETE set consumes them. */
  private found: Map<string, ManagedContainer> | undefined;

  constructor(opts: WorkerOptions) {
    this.executor = opts.executor;
    this.reporter = opts.reporter;
    this.observer = opts.observer;
    this.log = opts.log ?? silentLog;
    this.retryMinMs = opts.retryMinMs;
    this.now = opts.now;
  }

  /**
   * List the containers this agent manages; must finish before the first assignments. When
   * the engine fails, the worker is new again (start() may be tried again).
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`worker cannot start: it is ${this.state}`);
    this.state = 'starting';
    let listed: ManagedContainer[];
    try {
      listed = await this.executor.listManaged();
    } catch (err) {
      if (this.state === 'starting') this.state = 'new';
      throw err;
    }
    if (this.state !== 'starting') return; // closed meanwhile
    const found = new Map<string, ManagedContainer>();
    for (const c of listed) {
      const other = found.get(c.taskId);
      if (other === undefined) {
        found.set(c.taskId, c);
        continue;
      }
      // Two containers for one task should never happen; keep the running one.
      const [keep, drop] = other.status === 'running' || c.status !== 'running' ? [other, c] : [c, other];
      found.set(c.taskId, keep);
      this.discard(drop, 'duplicate');
    }
    this.found = found;
    this.state = 'running';
    this.log(`worker: found ${found.size} managed container(s)`);
  }

  handle(msg: AssignmentsMessage): void {
    if (this.state === 'stopping' || this.state === 'stopped') return; // the agent stops: the next run gets a fresh set
    if (msg.kind !== AssignmentsMessage_Kind.COMPLETE && msg.kind !== AssignmentsMessage_Kind.INCREMENTAL) {
      this.log(`worker: ignoring assignments message of unknown kind ${msg.kind}`);
      return;
    }
    this.payloads.receive(msg); // before the tasks: their controllers read them
    if (msg.kind === AssignmentsMessage_Kind.COMPLETE) this.assign(msg.tasks);
    else this.update(msg.tasks, msg.removedTaskIds);
    this.payloads.retain(this.assigned.values());
  }

  /** A COMPLETE set: afterwards exactly these tasks have runners. */
  assign(tasks: Task[]): void {
    this.assertStarted();
    const ids = new Set(tasks.map((t) => t.id));
    for (const id of [...this.runners.keys()]) if (!ids.has(id)) this.retire(id);
    for (const t of tasks) this.upsert(t);
    if (this.found !== undefined) {
      for (const c of this.found.values()) this.discard(c, 'not assigned');
      this.found = undefined;
    }
  }

  /** An INCREMENTAL message: tasks added or changed, ids removed. */
  update(tasks: Task[], removedIds: string[]): void {
    this.assertStarted();
    for (const t of tasks) this.upsert(t);
    for (const id of removedIds) this.retire(id);
  }

  /** Ids of the tasks that have a runner (the current assignment set). */
  taskIds(): string[] {
    return [...this.runners.keys()];
  }

  /**
   * Resolves once every runner waits for the manager or for its container and every leaving
   * task's container is gone: nothing more happens without news from outside.
   */
  async settled(): Promise<void> {
    for (;;) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      const all = [...this.runners.values(), ...this.departing.values()];
      if (all.every((r) => r.isQuiet)) return;
      await Promise.all(all.map((r) => r.whenQuiet()));
    }
  }

  /** Stop every runner (idempotent); containers are left as they are (an agent restart adopts them). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'stopping';
      const all = [...this.runners.values(), ...this.departing.values()];
      await Promise.all(all.map((r) => r.close()));
      this.state = 'stopped';
    })();
    return this.closing;
  }

  // ----------------------------------------------------------------

  private assertStarted(): void {
    if (this.state !== 'running') throw new Error(`worker cannot take assignments: it is ${this.state}`);
  }

  private upsert(task: Task): void {
    this.assigned.set(task.id, task);
    const runner = this.runners.get(task.id);
    if (runner !== undefined) {
      runner.update(task);
      return;
    }
    const existing = this.found?.get(task.id);
    this.found?.delete(task.id);
    const departing = this.departing.get(task.id);
    this.runners.set(
      task.id,
      new TaskRunner({
        task,
        controller: this.executor.controller(task, existing, this.payloads),
        existing,
        report: (id, status) => {
          this.reporter.report(id, status);
          this.observer?.status(id, task.serviceName, status);
        },
        onStopping: () => this.observer?.stopping(task.id, task.serviceName),
        log: this.log,
        ...(this.retryMinMs !== undefined && { retryMinMs: this.retryMinMs }),
        ...(this.now !== undefined && { now: this.now }),
        // A task that comes back while its old runner still removes its container waits.
        ...(departing !== undefined && { after: departing.done }),
      }),
    );
  }

  private retire(id: string): void {
    const runner = this.runners.get(id);
    if (runner === undefined) return;
    this.runners.delete(id);
    this.assigned.delete(id);
    this.reporter.forget(id);
    this.observer?.gone(id, runner.serviceName);
    this.track(runner);
    void runner.remove();
  }

  /** Stop and remove a container no assigned task owns (a runner in leave mode does it). */
  private discard(c: ManagedContainer, why: string): void {
    this.log(`worker: removing container ${c.id.slice(0, 12)} of task ${c.taskId} (${why})`);
    const task = taskFromLabels(c);
    const runner = new TaskRunner({
      task,
      controller: this.executor.controller(task, c),
      existing: c,
      report: () => {},
      log: this.log,
      ...(this.retryMinMs !== undefined && { retryMinMs: this.retryMinMs }),
    });
    this.track(runner);
    void runner.remove();
  }

  /** Keep a leaving runner until it is done; a later one of the same task waits for it. */
  private track(runner: TaskRunner): void {
    this.departing.set(runner.id, runner);
    void runner.done.finally(() => {
      if (this.departing.get(runner.id) === runner) this.departing.delete(runner.id);
    });
  }
}

/** A task shell with what a container's labels tell: enough to stop and remove it. */
function taskFromLabels(c: ManagedContainer): Task {
  return Task.fromPartial({
    id: c.taskId,
    serviceId: c.labels[LABEL.serviceId] ?? '',
    serviceName: c.labels[LABEL.serviceName] ?? '',
    slot: Number(c.labels[LABEL.slot] ?? 0) || 0,
    nodeId: c.labels[LABEL.nodeId] ?? '',
  });
}
