// Following a rolling update or rollback, as docker's progress display does:
//
//   overall progress: 4 out of 6 tasks
//   1/6: running   [==================================================>]
//   ...
//   verify: Waiting 5 seconds to verify that tasks are stable...
//   verify: Service converged
//
// It polls GetService (update_status) and ListTasks every POLL_MS; a poll that fails with a
// retryable error (a manager failing over) prints "retrying: <why>" and polls again. The
// outcome is the manager's: COMPLETED -> 0; PAUSED -> `service update paused: <message>`, 1;
// an automatic rollback -> `rollback: <message>`, 1. On a terminal the block is redrawn in
// place; otherwise (tests, logs) each line is printed when it changes.
import type { Clock } from '../../../proto/clock.js';
import type { Service, Task } from '../../../proto/gen/shoal.js';
import { ServiceMode, UpdateState } from '../../../proto/gen/shoal.js';
import { containerSpecKey } from '../../../proto/spec-rules.js';
import { TaskState, isTerminal, stateName } from '../../../proto/task-state.js';
import { CliError, isRetryable } from '../../errors.js';
import { formatDuration } from '../../output.js';
import type { ExitCode } from '../command.js';
import { POLL_MS, RETRY_MS } from './wait.js';

/** Per-task lines only up to this many tasks (docker's limit). */
export const MAX_TASK_LINES = 20;
const BAR_WIDTH = 50;
/** Task states in the order a task goes through them, for the bar's length. */
const STEPS = [
  TaskState.NEW,
  TaskState.PENDING,
  TaskState.ASSIGNED,
  TaskState.ACCEPTED,
  TaskState.PREPARING,
  TaskState.READY,
  TaskState.STARTING,
  TaskState.RUNNING,
];

export interface ProgressDeps {
  getService(id: string): Promise<Service>;
  listTasks(serviceId: string): Promise<Task[]>;
  clock: Clock;
  /** One line (or, on a terminal, a redrawn block) of progress: stdout. */
  out(text: string): void;
  /** The outcome when it is a failure: stderr. */
  err(text: string): void;
  /** Redraw in place (stdout is a terminal). */
  tty: boolean;
}

export interface ProgressConfig {
  /** Give up after this long (undefined: the manager's deadlines bound the update). */
  timeoutMs?: number;
  pollMs?: number;
}

/** `1/6: running   [=====>      ]` */
export function taskLine(label: string, state: TaskState | undefined): string {
  const name = state === undefined ? 'new' : stateName(state);
  const step = state === undefined ? 0 : STEPS.findIndex((s) => s >= state);
  const done = state === undefined || isTerminal(state) ? 0 : step < 0 ? STEPS.length : step + 1;
  const n = Math.round((BAR_WIDTH * done) / STEPS.length);
  const bar = n === 0 ? ' '.repeat(BAR_WIDTH) : `${'='.repeat(n - 1)}>${' '.repeat(BAR_WIDTH - n)}`;
  return `${label}: ${name.padEnd(9)} [${bar}]`;
}

/** The progress block of one poll: overall line first, then one line per task when few. */
export function progressLines(service: Service, tasks: Task[]): { lines: string[]; done: number; total: number } {
  const spec = service.spec!;
  const key = containerSpecKey(spec);
  const rollingBack =
    service.updateStatus?.state === UpdateState.ROLLBACK_STARTED ||
    service.updateStatus?.state === UpdateState.ROLLBACK_COMPLETED;
  const global = spec.mode === ServiceMode.GLOBAL;
  const newest = new Map<string, Task>(); // per slot (replicated) or node (global): its newest up-to-date task
  for (const t of tasks) {
    if (t.desiredState !== TaskState.RUNNING || !t.spec || containerSpecKey(t.spec) !== key) continue;
    const k = global ? t.nodeId : String(t.slot);
    const seen = newest.get(k);
    if (!seen || seen.createdAtMs < t.createdAtMs) newest.set(k, t);
  }
  const keys = global
    ? [...new Set(tasks.filter((t) => t.desiredState === TaskState.RUNNING).map((t) => t.nodeId))].sort()
    : Array.from({ length: spec.replicas }, (_, i) => String(i + 1));
  const total = keys.length;
  let done = 0;
  const perTask: string[] = [];
  keys.forEach((k) => {
    const t = newest.get(k);
    const state = t?.status?.state;
    if (state === TaskState.RUNNING) done++;
    perTask.push(taskLine(global ? k.slice(0, 12) : `${k}/${total}`, state));
  });
  const overall = `overall progress: ${rollingBack ? 'rolling back update: ' : ''}${done} out of ${total} tasks`;
  return { lines: [overall, ...(total <= MAX_TASK_LINES ? perTask : [])], done, total };
}

/**
 * Follows the update (or rollback) the manager has just started on `started` (its answer to
 * UpdateService / RollbackService) until it completes, pauses or rolls back.
 */
export async function followUpdate(started: Service, config: ProgressConfig, deps: ProgressDeps): Promise<ExitCode> {
  const pollMs = config.pollMs ?? POLL_MS;
  const begin = deps.clock.now();
  const printed = new Map<number, string>(); // non-tty: line index -> last text printed
  let drawn = 0; // tty: lines of the block on screen
  let failure: string | undefined;
  let announced = '';
  let verifying = false;
  const show = (lines: string[]) => {
    if (deps.tty) {
      const up = drawn > 0 ? `\x1b[${drawn}A` : '';
      deps.out(up + lines.map((l) => `\x1b[2K${l}`).join('\n'));
      drawn = lines.length;
      return;
    }
    lines.forEach((l, i) => {
      if (printed.get(i) === l) return;
      printed.set(i, l);
      deps.out(l);
    });
  };
  const say = (line: string) => {
    deps.out(line);
    drawn = 0; // a terminal's block is drawn again below the line
  };
  const since = started.updateStatus?.startedAtMs ?? 0;
  if (started.updateStatus?.state === UpdateState.ROLLBACK_STARTED) {
    announced = started.updateStatus.message;
    say(`rollback: ${announced}`);
  }

  for (;;) {
    const now = deps.clock.now();
    if (config.timeoutMs !== undefined && now - begin >= config.timeoutMs)
      throw new CliError(`timed out after ${formatDuration(config.timeoutMs)} waiting for the update to complete`);
    let service: Service;
    let tasks: Task[];
    try {
      service = await deps.getService(started.id);
      tasks = await deps.listTasks(started.id);
      failure = undefined;
    } catch (err) {
      if (!isRetryable(err)) throw err;
      if (err.message !== failure) deps.err(`retrying: ${err.message}`);
      failure = err.message;
      await deps.clock.sleep(RETRY_MS);
      continue;
    }
    const st = service.updateStatus;
    const state = st && st.startedAtMs >= since ? st.state : UpdateState.UPDATING;
    if (state === UpdateState.ROLLBACK_STARTED && st!.message !== announced) {
      announced = st!.message;
      say(`rollback: ${announced}`);
    }
    const p = progressLines(service, tasks);
    show(p.lines);
    switch (state) {
      case UpdateState.COMPLETED:
        say('verify: Service converged');
        return 0;
      case UpdateState.ROLLBACK_COMPLETED:
        say('verify: Service converged');
        if (st!.message.startsWith('update rolled back')) {
          deps.err(`rollback: ${st!.message}`);
          return 1;
        }
        return 0;
      case UpdateState.PAUSED:
        deps.err(`service update paused: ${st!.message}`);
        return 1;
      case UpdateState.ROLLBACK_PAUSED:
        deps.err(`service rollback paused: ${st!.message}`);
        return 1;
      default:
        if (p.done === p.total && !verifying) {
          verifying = true;
          const cfg = state === UpdateState.ROLLBACK_STARTED ? service.spec?.rollback : service.spec?.update;
          const secs = Math.round((cfg?.monitorMs ?? 5_000) / 1000);
          say(`verify: Waiting ${secs} seconds to verify that tasks are stable...`);
        }
    }
    await deps.clock.sleep(pollMs);
  }
}
