// Status reporter (swarmkit's agent/reporter.go): batches task status reports into
// UpdateTaskStatus calls and keeps the latest status per task.
//
//   report() -> pending (latest per task) --50 ms or 500 queued--> sender (one call in flight)
//                                                  failure: back into pending, unless newer
//   attach(sender) after a (re-)registration: re-sends every task's latest status, because a
//   manager that acknowledged a batch may have failed before it stored it.
//   A report below the status held for its task is dropped (canTransition, the one rule).
import type { TaskStatus, TaskStatusUpdate } from '../proto/gen/shoal.js';
import type { LifecycleState } from '../proto/lifecycle.js';
import { canTransition } from '../proto/task-state.js';
import { systemClock, type Cancel, type Clock } from '../proto/clock.js';
import { errorMessage } from './exec/errors.js';
import { silentLog, type Log } from './log.js';
import type { StatusSink } from './worker.js';

/** Collect reports this long before a call: one call carries a whole burst of transitions. */
export const FLUSH_INTERVAL_MS = 50;
/** Send at once when this many tasks wait: keeps a call well under gRPC's 4 MB default. */
export const MAX_BATCH = 500;
/** After a failed call on a session that is still up, try again after this long. */
const RETRY_MS = 500;

/** Sends one batch; resolves once the manager acknowledged it. */
export type StatusSender = (updates: TaskStatusUpdate[]) => Promise<void>;

export interface StatusReporterOptions {
  flushIntervalMs?: number;
  maxBatch?: number;
  retryMs?: number;
  log?: Log;
  clock?: Clock;
}

export class StatusReporter implements StatusSink {
  private readonly flushIntervalMs: number;
  private readonly maxBatch: number;
  private readonly retryMs: number;
  private readonly log: Log;
  private readonly clock: Clock;
  /** Running from construction; close() stops it for good (nothing is sent after). */
  private state: LifecycleState = 'running';

  /** Latest status of every assigned task: re-sent after every reconnect. */
  private readonly latest = new Map<string, TaskStatus>();
  /** Not yet acknowledged, latest per task, in order of first report. */
  private readonly pending = new Map<string, TaskStatus>();
  private sender: StatusSender | undefined;
  private inflight: Promise<void> | undefined;
  private timer: Cancel | undefined;
  private idleWaiters: Array<() => void> = [];

  constructor(opts: StatusReporterOptions = {}) {
    this.flushIntervalMs = opts.flushIntervalMs ?? FLUSH_INTERVAL_MS;
    this.maxBatch = opts.maxBatch ?? MAX_BATCH;
    this.retryMs = opts.retryMs ?? RETRY_MS;
    this.log = opts.log ?? silentLog;
    this.clock = opts.clock ?? systemClock;
  }

  report(taskId: string, status: TaskStatus): void {
    const held = this.latest.get(taskId);
    if (held !== undefined && !canTransition(held.state, status.state)) return; // never backwards
    this.latest.set(taskId, status);
    this.pending.set(taskId, status);
    this.schedule();
  }

  forget(taskId: string): void {
    this.latest.delete(taskId);
  }

  /** A session is up: send through it, starting with every task's latest status. */
  attach(sender: StatusSender): void {
    if (this.state !== 'running') return;
    this.sender = sender;
    for (const [id, status] of this.latest) if (!this.pending.has(id)) this.pending.set(id, status);
    this.schedule(true);
  }

  /** The session ended: keep everything until the next attach(). */
  detach(sender: StatusSender): void {
    if (this.sender !== sender) return;
    this.sender = undefined;
    this.clearTimer();
  }

  /** Number of statuses not yet acknowledged. */
  get backlog(): number {
    return this.pending.size;
  }

  /** Send what is pending now; resolves when nothing is pending or in flight, or after timeoutMs. */
  async drain(timeoutMs: number): Promise<void> {
    this.schedule(true);
    if (this.isIdle()) return;
    let cancel: Cancel | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.idleWaiters.push(resolve)),
      new Promise<void>((resolve) => {
        cancel = this.clock.after(timeoutMs, resolve);
      }),
    ]);
    cancel?.();
  }

  /** Stop sending (idempotent); what is not acknowledged yet is dropped with the reporter. */
  async close(): Promise<void> {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    this.sender = undefined;
    this.clearTimer();
  }

  // ----------------------------------------------------------------

  private isIdle(): boolean {
    return this.pending.size === 0 && this.inflight === undefined;
  }

  private schedule(now = false, delayMs = this.flushIntervalMs): void {
    if (this.sender === undefined || this.inflight !== undefined || this.pending.size === 0) return;
    if (now || this.pending.size >= this.maxBatch) {
      this.clearTimer();
      this.flush();
    } else if (this.timer === undefined) {
      this.timer = this.clock.after(delayMs, () => {
        this.timer = undefined;
        this.flush();
      });
    }
  }

  private flush(): void {
    const sender = this.sender;
    if (sender === undefined || this.inflight !== undefined || this.pending.size === 0) return;
    const batch: Array<[string, TaskStatus]> = [];
    for (const entry of this.pending) {
      batch.push(entry);
      if (batch.length >= this.maxBatch) break;
    }
    for (const [id] of batch) this.pending.delete(id);
    const updates = batch.map(([taskId, status]) => ({ taskId, status }));
    this.inflight = sender(updates).then(
      () => {
        this.inflight = undefined;
        this.schedule(this.pending.size >= this.maxBatch);
        this.notifyIdle();
      },
      (err: unknown) => {
        this.inflight = undefined;
        // Put back what has no newer report; the order of first report is lost, which is fine.
        for (const [id, status] of batch) if (!this.pending.has(id)) this.pending.set(id, status);
        if (this.sender === sender) {
          this.log(`reporter: sending ${batch.length} status(es) failed: ${errorMessage(err)}`);
          this.clearTimer();
          this.schedule(false, this.retryMs);
        }
      },
    );
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private clearTimer(): void {
    this.timer?.();
    this.timer = undefined;
  }
}
