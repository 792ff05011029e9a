// Shared bits for the agent tests: task builders and a reporter that records every report
// and notes any report that would move a task's state backwards.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { ServiceSpec, Task, TaskState, type TaskStatus } from '../../proto/gen/shoal.js';
import { canTransition, stateName } from '../../proto/task-state.js';
import type { StatusSink } from '../../agent/worker.js';

export const NODE_ID = 'node00000000000000000000a';

export function makeTask(
  id: string,
  opts: { desired?: TaskState; state?: TaskState; image?: string; spec?: Partial<ServiceSpec>; slot?: number } = {},
): Task {
  return Task.fromPartial({
    id,
    serviceId: 'svc1',
    serviceName: 'web',
    slot: opts.slot ?? 1,
    nodeId: NODE_ID,
    spec: ServiceSpec.fromPartial({ name: 'web', image: opts.image ?? 'busybox:latest', ...opts.spec }),
    desiredState: opts.desired ?? TaskState.RUNNING,
    status: { state: opts.state ?? TaskState.ASSIGNED },
  });
}

/** The same task with another desired state (and the manager's view of its state). */
export function withDesired(task: Task, desired: TaskState, state?: TaskState): Task {
  return {
    ...task,
    desiredState: desired,
    status: { ...(task.status as TaskStatus), ...(state !== undefined && { state }) },
  };
}

export class RecordingReporter implements StatusSink {
  readonly reports: Array<{ taskId: string; status: TaskStatus }> = [];
  readonly backwards: string[] = [];
  readonly forgotten: string[] = [];
  private readonly highest = new Map<string, TaskState>();

  report(taskId: string, status: TaskStatus): void {
    const prev = this.highest.get(taskId);
    if (prev !== undefined && !canTransition(prev, status.state)) {
      this.backwards.push(`${taskId}: ${stateName(prev)} -> ${stateName(status.state)}`);
    }
    this.highest.set(taskId, Math.max(prev ?? 0, status.state));
    this.reports.push({ taskId, status });
  }

  forget(taskId: string): void {
    this.forgotten.push(taskId);
  }

  /** State names reported for a task, in order. */
  states(taskId: string): string[] {
    return this.reports.filter((r) => r.taskId === taskId).map((r) => stateName(r.status.state));
  }

  last(taskId: string): TaskStatus | undefined {
    return this.reports.filter((r) => r.taskId === taskId).at(-1)?.status;
  }
}

/**
 * A time the test measured: in ava's output, and as a plain `measured: agent ...` line that
 * test/run gathers into its summary (as the e2e tests' measured() in test/helpers/bed.ts).
 */
export function measured(t: ExecutionContext, what: string, ms: number): void {
  const line = `measured: agent ${what}: ${ms} ms`;
  t.log(line);
  console.log(line);
}

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../agent/bin/shoal-agent');

export interface AgentProcess {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  exit: Promise<number | null>;
}

/** agent/bin/shoal-agent as a child process; killed when the test ends, if it still runs. */
export function spawnAgent(t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv = {}): AgentProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, out: () => out, err: () => err, exit };
}
