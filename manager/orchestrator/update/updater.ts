// Rolls a service's spec change out over its tasks (swarmkit's updater, with deadlines):
// out-of-date slots are replaced in batches of `parallelism`, stop-first or start-first, with
// `delay` between batches; a new task that fails, is not running (healthy) within the healthy
// deadline, or fails within `monitor` after running counts as failed, and failures above
// max_failure_ratio pause, continue or roll back. Everything it decides on is in the store
// (Service.update_status, the tasks), so a new leader carries on where the old one was.
//
//   service UPDATING ──► slots: fresh? ─ yes ─► in flight until RUNNING, stable after monitor
//                          │ no
//                          ▼  (at most `parallelism` in flight, `delay` between batches)
//                 stop-first: stop old ─► old ended ─► create new
//                 start-first: create new ─► new RUNNING ─► stop old
//   failures/updated > ratio ─► PAUSED | ROLLBACK_STARTED (previous spec) | go on
//   every slot fresh and stable ─► COMPLETED / ROLLBACK_COMPLETED
import { WakeTimers } from '../wake-timers.js';
import type { Service, Task, UpdateConfig, UpdateStatus } from '../../../proto/gen/shoal.js';
import { ServiceMode, UpdateFailureAction, UpdateOrder, UpdateState } from '../../../proto/gen/shoal.js';
import { DEFAULT_UPDATE_CONFIG, formatMs } from '../../../proto/spec-rules.js';
import { TaskState, isTerminal } from '../../../proto/task-state.js';
import type { Change, ClusterState } from '../../store/cluster-state.js';
import { newTask, observedState, stopTask } from '../tasks.js';
import { upToDate } from './spec-diff.js';
import { rolledBack, rollingOut } from './versions.js';

/** Why the updater stopped a task (shown by `service ps`). */
export const REPLACED_BY_UPDATE = 'replaced by update';

/** One slot of a service as the updater sees it (tasks newest first). */
interface Slot {
  key: number | string;
  slot: number;
  nodeId: string;
  tasks: Task[];
}

/** What one look at a service found. */
interface Survey {
  outdated: Slot[];
  inFlight: number;
  /** Slots with a task of this update (created since it started). */
  updated: number;
  failed: { task: Task; reason: string }[];
  /** When the last updated task went running (for `delay`), and when all are stable (monitor). */
  lastRunningAt: number;
  stableAt: number;
  wake: number;
  /** The first new task not running yet, for the progress deadline's message. */
  stuck?: Task;
}

export function taskName(t: Task): string {
  return t.slot > 0 ? `${t.serviceName}.${t.slot}` : `${t.serviceName}.${t.nodeId.slice(0, 12)}`;
}

/** Why a task failed or is not running, as one line. */
function reasonOf(t: Task): string {
  const s = t.status;
  if (!s) return 'not started';
  if (s.err) return s.err;
  if (s.state === TaskState.COMPLETE || s.state === TaskState.FAILED) return `task exited with code ${s.exitCode}`;
  return s.message || TaskState[s.state]?.toLowerCase() || 'not running';
}

export class Updater {
  private readonly dirty = new Set<string>();
  private readonly timers = new WakeTimers(
    () => this.now(),
    (serviceId) => {
      this.dirty.add(serviceId);
      this.onWake();
    },
  );
  /** When this manager saw each task go RUNNING (a task's status time says it only until it changes again). */
  private readonly runningAt = new Map<string, number>();
  /** Called when a timer makes a service dirty again (the manager then runs a pass). */
  onWake: () => void = () => {};
  private readonly off: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly now: () => number = Date.now,
  ) {
    this.markAll();
    this.off = state.onChange((c) => this.observe(c));
  }

  get hasWork(): boolean {
    return this.dirty.size > 0;
  }

  /** Looks at every service being rolled out (on becoming leader). */
  markAll(): void {
    for (const s of this.state.services.values()) if (rollingOut(s)) this.dirty.add(s.id);
  }

  private observe(c: Change): void {
    if (c.kind === 'service') {
      if (rollingOut(c.after)) this.dirty.add(c.id);
    } else if (c.kind === 'task') {
      const t = c.after ?? c.before!;
      if (!c.after) this.runningAt.delete(t.id);
      else if (
        observedState(c.after) === TaskState.RUNNING &&
        (!c.before || observedState(c.before) !== TaskState.RUNNING)
      )
        this.runningAt.set(t.id, this.now());
      if (rollingOut(this.state.services.get(t.serviceId))) this.dirty.add(t.serviceId);
    }
  }

  /** One pass over the services whose update has something new; returns how many were looked at. */
  run(): number {
    const ids = [...this.dirty];
    this.dirty.clear();
    for (const id of ids) {
      const service = this.state.services.get(id);
      if (service && rollingOut(service)) this.step(service);
    }
    return ids.length;
  }

  async close(): Promise<void> {
    this.off();
    this.timers.clear();
  }

  private step(service: Service): void {
    const now = this.now();
    const status = service.updateStatus!;
    const rollback = status.state === UpdateState.ROLLBACK_STARTED;
    const cfg: UpdateConfig = (rollback ? service.spec?.rollback : service.spec?.update) ?? DEFAULT_UPDATE_CONFIG;
    const survey = this.survey(service, cfg, now);

    const failed = survey.failed.length;
    const tooMany = failed > 0 && failed / Math.max(1, survey.updated) > cfg.maxFailureRatio;
    if (tooMany && cfg.failureAction !== UpdateFailureAction.CONTINUE) {
      const first = survey.failed[0]!;
      this.fail(service, cfg, `task ${taskName(first.task)}: ${first.reason}`, now);
      return;
    }
    const done = survey.outdated.length === 0 && survey.inFlight === 0;
    if (!done && now >= status.startedAtMs + cfg.progressDeadlineMs) {
      const why = survey.stuck
        ? `task ${taskName(survey.stuck)}: ${reasonOf(survey.stuck)}`
        : `not done within the progress deadline (${formatMs(cfg.progressDeadlineMs)})`;
      this.fail(service, { ...cfg, failureAction: pauseUnlessRollback(cfg) }, why, now);
      return;
    }
    if (done) {
      if (now >= survey.stableAt) {
        this.finish(service, status, rollback, now);
        return;
      }
      survey.wake = Math.min(survey.wake, survey.stableAt);
    } else {
      this.startSlots(service, cfg, survey, now);
      survey.wake = Math.min(survey.wake, status.startedAtMs + cfg.progressDeadlineMs);
    }
    if (survey.wake !== Infinity) this.timers.at(service.id, survey.wake);
  }

  /** Reads the service's slots: which are out of date, in flight, failed. */
  private survey(service: Service, cfg: UpdateConfig, now: number): Survey {
    const started = service.updateStatus!.startedAtMs;
    const s: Survey = {
      outdated: [],
      inFlight: 0,
      updated: 0,
      failed: [],
      lastRunningAt: 0,
      stableAt: 0,
      wake: Infinity,
    };
    for (const slot of this.slots(service)) {
      const mine = slot.tasks.filter((t) => upToDate(t, service) && t.createdAtMs >= started);
      if (mine.length > 0) s.updated++;
      // Failures of this update's tasks in the slot (restarts of them included: each one counts once per slot).
      const failure = mine.find((t) => this.failedEarly(t, cfg));
      if (failure) s.failed.push({ task: failure, reason: reasonOf(failure) });
      const current = slot.tasks.filter((t) => t.desiredState === TaskState.RUNNING && !isTerminal(observedState(t)));
      const fresh = current.find((t) => upToDate(t, service));
      const stale = current.filter((t) => !upToDate(t, service));
      if (fresh) {
        if (observedState(fresh) === TaskState.RUNNING) {
          for (const old of stale) stopTask(this.state, old, TaskState.SHUTDOWN, REPLACED_BY_UPDATE, now);
          if (fresh.createdAtMs >= started) {
            const at = this.runningAt.get(fresh.id) ?? fresh.status?.timestampMs ?? now;
            s.lastRunningAt = Math.max(s.lastRunningAt, at);
            s.stableAt = Math.max(s.stableAt, at + cfg.monitorMs);
          }
        } else {
          s.inFlight++;
          s.stuck ??= fresh;
          if (fresh.createdAtMs >= started) {
            const deadline = fresh.createdAtMs + cfg.healthyDeadlineMs;
            if (now >= deadline && !failure)
              s.failed.push({
                task: fresh,
                reason: `${reasonOf(fresh)} (not running within ${formatMs(cfg.healthyDeadlineMs)})`,
              });
            else s.wake = Math.min(s.wake, deadline);
          }
        }
        continue;
      }
      if (stale.length > 0) {
        // With `continue`, a slot whose new task failed is not tried again in this update.
        if (!failure) s.outdated.push(slot);
        continue;
      }
      const newest = slot.tasks[0];
      if (!newest || upToDate(newest, service)) {
        if (newest && !failure) s.inFlight++; // ended: the orchestrator restarts it
        continue;
      }
      // The old task is stopping (stop-first) or has ended: this slot is the updater's.
      s.inFlight++;
      if (isTerminal(observedState(newest))) this.create(service, slot, now);
    }
    return s;
  }

  /** A task of this update that ended by itself (not stopped by the manager) within its monitor window. */
  private failedEarly(t: Task, cfg: UpdateConfig): boolean {
    const st = observedState(t);
    if (st !== TaskState.FAILED && st !== TaskState.REJECTED && st !== TaskState.COMPLETE) return false;
    const ran = this.runningAt.get(t.id);
    return ran === undefined || (t.status?.timestampMs ?? 0) - ran <= cfg.monitorMs;
  }

  private slots(service: Service): Slot[] {
    const global = service.spec?.mode === ServiceMode.GLOBAL;
    const replicas = service.spec?.replicas ?? 0;
    const bySlot = new Map<number | string, Slot>();
    for (const t of this.state.tasksOfService(service.id)) {
      const key = global ? t.nodeId : t.slot;
      if (global ? t.nodeId === '' : t.slot < 1 || t.slot > replicas) continue;
      let slot = bySlot.get(key);
      if (!slot) bySlot.set(key, (slot = { key, slot: t.slot, nodeId: global ? t.nodeId : '', tasks: [] }));
      slot.tasks.push(t);
    }
    const out = [...bySlot.values()];
    for (const s of out) s.tasks.sort((a, b) => b.createdAtMs - a.createdAtMs);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /** Starts replacing out-of-date slots while fewer than `parallelism` are in flight. */
  private startSlots(service: Service, cfg: UpdateConfig, s: Survey, now: number): void {
    const parallelism = cfg.parallelism === 0 ? Infinity : cfg.parallelism;
    if (cfg.delayMs > 0 && s.lastRunningAt > 0) {
      // Batches: the next one starts when this one is running, `delay` after its last task.
      if (s.inFlight > 0) return;
      const next = s.lastRunningAt + cfg.delayMs;
      if (now < next) {
        s.wake = Math.min(s.wake, next);
        return;
      }
    }
    let free = parallelism - s.inFlight;
    for (const slot of s.outdated) {
      if (free <= 0) break;
      free--;
      const stale = slot.tasks.filter((t) => t.desiredState === TaskState.RUNNING && !isTerminal(observedState(t)));
      if (cfg.order === UpdateOrder.START_FIRST) {
        this.create(service, slot, now);
        continue;
      }
      for (const old of stale) stopTask(this.state, old, TaskState.SHUTDOWN, REPLACED_BY_UPDATE, now);
      // A task that never reached a node ends at once: its replacement is due now.
      const ended = stale.every((t) => isTerminal(observedState(this.state.tasks.get(t.id) ?? t)));
      if (ended) this.create(service, slot, now);
    }
  }

  private create(service: Service, slot: Slot, now: number): void {
    this.state.putTask(newTask(service, slot.slot, slot.nodeId, now));
  }

  /** Too many failures (or the deadline passed): pause, or roll back to the previous spec. */
  private fail(service: Service, cfg: UpdateConfig, why: string, now: number): void {
    const rollback = service.updateStatus?.state === UpdateState.ROLLBACK_STARTED;
    if (cfg.failureAction === UpdateFailureAction.ROLLBACK && !rollback) {
      const back = rolledBack(service, now, `update rolled back due to failure of ${why}`);
      if (back) {
        this.state.putService(back);
        return;
      }
    }
    const paused: UpdateStatus = {
      state: rollback ? UpdateState.ROLLBACK_PAUSED : UpdateState.PAUSED,
      startedAtMs: service.updateStatus?.startedAtMs ?? now,
      completedAtMs: 0,
      message: `${rollback ? 'rollback' : 'update'} paused due to failure or early termination of ${why}`,
    };
    this.state.putService({ ...service, updateStatus: paused });
  }

  private finish(service: Service, status: UpdateStatus, rollback: boolean, now: number): void {
    const automatic = rollback && status.message.startsWith('update rolled back');
    const done: UpdateStatus = {
      state: rollback ? UpdateState.ROLLBACK_COMPLETED : UpdateState.COMPLETED,
      startedAtMs: status.startedAtMs,
      completedAtMs: now,
      message: automatic ? status.message : rollback ? 'rollback completed' : 'update completed',
    };
    this.state.putService({ ...service, updateStatus: done });
  }
}

/** The progress deadline's action: `continue` would wait forever again, so it pauses. */
function pauseUnlessRollback(cfg: UpdateConfig): UpdateFailureAction {
  return cfg.failureAction === UpdateFailureAction.ROLLBACK ? UpdateFailureAction.ROLLBACK : UpdateFailureAction.PAUSE;
}

/** Whether the orchestrator must leave a slot to the updater (see reconcileSlot). */
export function updaterOwnsSlot(service: Service, newest: Task | undefined): boolean {
  return newest !== undefined && rollingOut(service) && !upToDate(newest, service);
}

/**
 * Whether a slot's several current tasks are the updater's start-first pair (the new one
 * starting beside the old one): the orchestrator leaves them; the updater stops the old one.
 */
export function updaterOwnsPair(service: Service, current: Task[]): boolean {
  if (!rollingOut(service)) return false;
  const fresh = current.filter((t) => upToDate(t, service)).length;
  return fresh === 1 && current.length === 2;
}
