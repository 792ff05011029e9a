// One runner per assigned task (swarmkit's agent/task.go + exec.Do): a loop that takes one
// step at a time toward the task's desired state and reports every transition it makes.
//
//   desired RUNNING:   ACCEPTED -> PREPARING (prepare) -> READY -> STARTING (start) -> RUNNING
//                      (with a health check: STARTING "waiting for the health check" until
//                      healthy) -> wait -> COMPLETE (exit 0) | FAILED (exit != 0)
//                      unhealthy (starting or running): report err "unhealthy" at once (a
//                      running task leaves discovery), stop it (the spec's grace), then
//                      FAILED, err "unhealthy", exit code as it stopped (-1 if unknown)
//                      errors before STARTING -> REJECTED, after -> FAILED
//   desired SHUTDOWN/REMOVE: shutdown -> SHUTDOWN, then remove the container
//   left the assignment set: shutdown + remove, no report
//
// Engine errors marked retryable (engine unreachable) are retried with backoff instead of
// failing the task. Observed state never goes backwards (proto/task-state.ts' canTransition,
// the one rule): the runner starts from the state the manager already holds and drops any
// report below the highest one it knows.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Task, TaskStatus } from '../proto/gen/shoal.js';
import { canTransition, isTerminal, TaskState } from '../proto/task-state.js';
import {
  stopGraceMs,
  type Controller,
  type Health,
  type ManagedContainer,
  type WaitResult,
  type WaitUntil,
} from './exec/executor.js';
import { errorMessage, isRetryable } from './exec/errors.js';
import { silentLog, type Log } from './log.js';

/** Retry an engine call that failed transiently after this long, doubling... */
const RETRY_MIN_MS = 500;
/** ...up to this: an engine that stays away costs one log line per 10 s per task. */
const RETRY_MAX_MS = 10_000;

/** The err of a task whose health check failed (exactly this: the manager and users match it). */
export const UNHEALTHY = 'unhealthy';
/** The message of a task that has started and waits for its first passing health check. */
export const WAITING_FOR_HEALTH = 'waiting for the health check';

export type ReportFn = (taskId: string, status: TaskStatus) => void;

export interface TaskRunnerOptions {
  task: Task;
  controller: Controller;
  /** The task's container as found at agent start: it is adopted, never created twice. */
  existing?: ManagedContainer | undefined;
  report: ReportFn;
  log?: Log;
  retryMinMs?: number;
  now?: () => number;
  /** Begin only once this settles (an earlier runner of the same task is still leaving). */
  after?: Promise<unknown>;
  /** Called just before the runner stops a container it ran (discovery drops it at once). */
  onStopping?: () => void;
}

type StepResult = 'progress' | 'idle' | 'exit';
/** run: follow the desired state; leave: the task left the set; close: the agent stops. */
type Mode = 'run' | 'leave' | 'close';

export class TaskRunner {
  readonly id: string;
  readonly serviceName: string;
  /** Resolves when the loop has ended (after close() or remove()). The loop begins on the
   * next microtask, or after `after`, so a runner made only to remove() reports nothing. */
  readonly done: Promise<void>;

  private task: Task;
  private readonly ctl: Controller;
  private readonly report: ReportFn;
  private readonly log: Log;
  private readonly retryMinMs: number;
  private readonly now: () => number;
  private readonly onStopping: (() => void) | undefined;

  /** Highest observed state known: the manager's or our own last report. */
  private state: TaskState;
  /** Our own last report (a state equal to the manager's is still sent once, to confirm). */
  private lastEmitted: TaskState = TaskState.NEW;
  private lastMessage = '';
  private mode: Mode = 'run';
  private prepared = false;
  /** We believe the container may run (started or adopted running, and not seen to exit). */
  private live = false;
  private removed = false;
  /** Set once the health check failed (the probe's output): stop, then report FAILED. */
  private unhealthy: string | undefined;

  private stepAbort = new AbortController();
  private changed = false;
  private wakeUp: (() => void) | undefined;
  private quiet = false;
  private quietWaiters: Array<() => void> = [];

  constructor(opts: TaskRunnerOptions) {
    this.task = opts.task;
    this.id = opts.task.id;
    this.serviceName = opts.task.serviceName;
    this.onStopping = opts.onStopping;
    this.ctl = opts.controller;
    this.report = opts.report;
    this.log = opts.log ?? silentLog;
    this.retryMinMs = opts.retryMinMs ?? RETRY_MIN_MS;
    this.now = opts.now ?? Date.now;
    this.state = opts.task.status?.state ?? TaskState.NEW;
    const after = opts.after ?? Promise.resolve();
    this.done = after
      .then(
        () => this.loop(opts.existing),
        () => this.loop(opts.existing),
      )
      .finally(() => this.setQuiet(true));
  }

  /** The task as the manager sent it again (tasks only change their desired state). */
  update(task: Task): void {
    if (this.mode !== 'run') return;
    const desiredChanged = task.desiredState !== this.task.desiredState;
    this.task = task;
    const theirs = task.status?.state ?? TaskState.NEW;
    // The manager may know more than we do (never less: a stale view is ignored).
    const ahead = theirs !== this.state && canTransition(this.state, theirs);
    if (ahead) this.state = theirs;
    if (desiredChanged || (ahead && isTerminal(theirs))) this.wake(true);
  }

  /** The task left the assignment set: stop and remove its container, report nothing more. */
  remove(): Promise<void> {
    if (this.mode === 'run') {
      this.mode = 'leave';
      this.wake(true);
    }
    return this.done;
  }

  /** The agent stops (idempotent): end the loop, leave the container as it is. */
  close(): Promise<void> {
    this.mode = 'close';
    this.wake(true);
    return this.done;
  }

  /** Resolves once the runner waits for the manager or for its container, or has ended. */
  whenQuiet(): Promise<void> {
    if (this.quiet) return Promise.resolve();
    return new Promise((resolve) => this.quietWaiters.push(resolve));
  }

  /** (A getter: the mode changes while the loop awaits, which narrowing cannot see.) */
  private get closing(): boolean {
    return this.mode === 'close';
  }

  get isQuiet(): boolean {
    return this.quiet;
  }

  // ---------------------------------------------------------------- loop

  private async loop(existing: ManagedContainer | undefined): Promise<void> {
    if (existing && this.mode === 'run') this.adopt(existing);
    let retryMs = this.retryMinMs;
    for (;;) {
      if (this.closing) return;
      this.changed = false;
      if (this.stepAbort.signal.aborted) this.stepAbort = new AbortController();
      let result: StepResult;
      try {
        result = await this.step(this.stepAbort.signal);
        retryMs = this.retryMinMs;
      } catch (err) {
        if (this.closing) return;
        this.log(`task ${this.id}: ${errorMessage(err)} (retrying in ${retryMs} ms)`);
        await this.sleep(retryMs);
        retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
        continue;
      }
      if (result === 'exit') return;
      if (result === 'idle') await this.nextChange();
    }
  }

  /** A container found at start: take its state over instead of creating another. */
  private adopt(c: ManagedContainer): void {
    this.live = c.status === 'running';
    this.log(
      `task ${this.id}: adopting ${c.status} container ${c.id.slice(0, 12)}${c.health === 'none' ? '' : ` (${c.health})`}`,
    );
    // A created container is started by the normal flow (prepare() finds it); a task the
    // manager holds as terminal, or that should stop, is handled by step().
    if (c.status === 'created' || isTerminal(this.state) || this.task.desiredState > TaskState.RUNNING) return;
    if (c.status !== 'running') return this.emitExit(c.exitCode);
    // Health as the engine has it: healthy (or no check) runs; starting waits in STARTING
    // (step() goes on from there); unhealthy is stopped and FAILED by step().
    if (c.health === 'unhealthy') this.unhealthy = '';
    else if (c.health === 'starting') this.emit(TaskState.STARTING, { message: WAITING_FOR_HEALTH });
    else this.emit(TaskState.RUNNING, { message: 'adopted running container' });
  }

  private async step(signal: AbortSignal): Promise<StepResult> {
    const ctl = this.ctl;
    if (this.mode === 'leave') {
      if (ctl.containerId !== undefined && !this.removed) {
        this.stopping();
        await ctl.shutdown(stopGraceMs(this.task));
        await ctl.remove();
        this.removed = true;
        this.log(`task ${this.id}: no longer assigned, container ${short(ctl.containerId)} removed`);
      }
      return 'exit';
    }
    const desired = this.task.desiredState;
    // The health check failed: stop the container, then report, so the exit code is the one
    // it stopped with; the manager replaces the task per its restart policy.
    if (this.unhealthy !== undefined && desired <= TaskState.RUNNING && !isTerminal(this.state)) {
      // Leave discovery everywhere at once (the manager drops a RUNNING task that reports an
      // error), not only after the stop grace period.
      if (this.state === TaskState.RUNNING) {
        this.emit(TaskState.RUNNING, { message: 'health check failed: stopping', err: UNHEALTHY }, true);
      }
      this.stopping();
      await ctl.shutdown(stopGraceMs(this.task));
      const after = await ctl.inspect();
      this.live = false;
      this.emit(TaskState.FAILED, {
        message: this.unhealthy === '' ? 'health check failed' : `health check failed: ${this.unhealthy}`,
        err: UNHEALTHY,
        exitCode: after?.status === 'exited' ? after.exitCode : -1,
      });
      return 'progress';
    }
    // Whatever is terminal must not keep a running container (e.g. the manager gave the task
    // up while we were away).
    if (isTerminal(this.state) && this.live) {
      this.stopping();
      await ctl.shutdown(stopGraceMs(this.task));
      this.live = false;
      return 'progress';
    }

    if (desired > TaskState.RUNNING) {
      if (!isTerminal(this.state)) {
        if (ctl.containerId !== undefined) {
          this.stopping();
          await ctl.shutdown(stopGraceMs(this.task));
        }
        this.live = false;
        this.emit(TaskState.SHUTDOWN, { message: 'shutdown' });
        return 'progress';
      }
      if (ctl.containerId !== undefined && !this.removed) {
        await ctl.remove();
        this.removed = true;
        this.log(`task ${this.id}: container ${short(ctl.containerId)} removed`);
        return 'progress';
      }
      return 'idle';
    }

    if (isTerminal(this.state)) return 'idle';
    if (this.state < TaskState.RUNNING && this.state >= desired) return 'idle';
    if (this.state < TaskState.ACCEPTED) {
      this.emit(TaskState.ACCEPTED, { message: 'accepted' });
      return 'progress';
    }
    if (this.state < TaskState.STARTING && !this.prepared) {
      this.emit(TaskState.PREPARING, { message: 'preparing' });
      // Its networks not ready on this host yet: wait in PREPARING (not a failure).
      for (let waiting = ctl.waitingFor?.(); waiting !== undefined; waiting = ctl.waitingFor?.()) {
        this.emit(TaskState.PREPARING, { message: waiting }, true);
        this.setQuiet(true);
        try {
          await (ctl.waitChange?.(signal) ?? this.sleep(this.retryMinMs));
        } finally {
          this.setQuiet(false);
        }
        if (signal.aborted) return 'progress';
      }
      try {
        await ctl.prepare(signal);
      } catch (err) {
        return this.fatal(err, signal);
      }
      this.prepared = true;
      this.emit(TaskState.READY, { message: 'prepared' });
      return 'progress';
    }
    if (this.state < TaskState.RUNNING) {
      this.emit(TaskState.STARTING, { message: 'starting' });
      this.live = true;
      let health: Health;
      try {
        health = await ctl.start(signal);
      } catch (err) {
        return this.fatal(err, signal);
      }
      if (health === 'none' || health === 'healthy') {
        this.emit(TaskState.RUNNING, { message: 'started' });
        return 'progress';
      }
      // With a health check the task runs once it is healthy (as in swarm mode).
      this.emit(TaskState.STARTING, { message: WAITING_FOR_HEALTH }, true);
      return this.follow(signal, 'healthy');
    }
    return this.follow(signal, 'exit');
  }

  /** Wait for the container (the runner is quiet meanwhile), then act on what it did. */
  private async follow(signal: AbortSignal, until: WaitUntil): Promise<StepResult> {
    this.setQuiet(true);
    let r: WaitResult;
    try {
      r = await this.ctl.wait(signal, until);
    } catch (err) {
      return this.fatal(err, signal);
    } finally {
      this.setQuiet(false);
    }
    if (r.kind === 'healthy') {
      this.emit(TaskState.RUNNING, { message: 'started, healthy' });
    } else if (r.kind === 'unhealthy') {
      this.log(
        `task ${this.id}: container ${short(this.ctl.containerId)} is unhealthy${r.detail ? `: ${r.detail}` : ''}`,
      );
      this.unhealthy = r.detail;
    } else {
      this.live = false;
      this.emitExit(r.exitCode);
    }
    return 'progress';
  }

  /** An error from prepare/start/wait: retry it when transient, else the task has failed. */
  private fatal(err: unknown, signal: AbortSignal): StepResult {
    if (signal.aborted) return 'progress'; // interrupted by a change, not a failure
    if (isRetryable(err)) throw err;
    const state = this.state < TaskState.STARTING ? TaskState.REJECTED : TaskState.FAILED;
    this.emit(state, { message: state === TaskState.REJECTED ? 'rejected' : 'failed', err: errorMessage(err) });
    return 'progress';
  }

  private emitExit(exitCode: number): void {
    if (exitCode === 0) this.emit(TaskState.COMPLETE, { message: 'finished', exitCode });
    else this.emit(TaskState.FAILED, { message: 'failed', err: `task: non-zero exit (${exitCode})`, exitCode });
  }

  /** Report a transition; `again`: the same state once more, when only the message changed. */
  private emit(state: TaskState, fields: { message: string; err?: string; exitCode?: number }, again = false): void {
    if (this.mode === 'leave') return;
    if (!canTransition(this.state, state)) return; // never backwards: the manager (or we) already know more
    // A step retried after a transient error reports nothing twice.
    if (!canTransition(this.lastEmitted, state)) return;
    if (state === this.lastEmitted && (!again || fields.message === this.lastMessage)) return;
    this.state = state;
    this.lastEmitted = state;
    this.lastMessage = fields.message;
    this.report(this.id, {
      state,
      message: fields.message,
      err: fields.err ?? '',
      containerId: this.ctl.containerId ?? '',
      exitCode: fields.exitCode ?? 0,
      timestampMs: this.now(),
      addresses: this.ctl.addresses ?? [],
    });
  }

  /** Tell discovery before a stop, so no new connection goes to a task on its way out. */
  private stopping(): void {
    try {
      this.onStopping?.();
    } catch (err) {
      this.log(`task ${this.id}: ${errorMessage(err)}`);
    }
  }

  // ---------------------------------------------------------------- wake-ups

  private wake(abortStep: boolean): void {
    this.changed = true;
    if (abortStep) this.stepAbort.abort();
    const w = this.wakeUp;
    this.wakeUp = undefined;
    w?.();
  }

  private nextChange(): Promise<void> {
    if (this.changed) return Promise.resolve();
    this.setQuiet(true);
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve;
    }).finally(() => this.setQuiet(false));
  }

  /** Wait `ms`, or less when a change wakes the runner. */
  private async sleep(ms: number): Promise<void> {
    if (this.changed) return;
    const woken = new AbortController();
    const wake = () => woken.abort();
    this.wakeUp = wake;
    try {
      await sleep(ms, undefined, { signal: woken.signal });
    } catch {
      // woken by a change
    } finally {
      if (this.wakeUp === wake) this.wakeUp = undefined;
    }
  }

  private setQuiet(quiet: boolean): void {
    this.quiet = quiet;
    if (!quiet) return;
    const waiters = this.quietWaiters;
    this.quietWaiters = [];
    for (const w of waiters) w();
  }
}

function short(id: string | undefined): string {
  return (id ?? '').slice(0, 12);
}
