// One task's container, as the task runner drives it (swarmkit's exec.Controller, smaller).
// Every method may be called again after a crash or an agent restart: each one checks what
// already exists instead of assuming it starts from nothing.
import type { NetworkAddress, Task } from '../../proto/gen/shoal.js';

/** Docker's own default for `docker stop`, used when the spec leaves it unset (0). */
export const DEFAULT_STOP_GRACE_MS = 10_000;

/**
 * The task's stop grace period; undefined for a bare task (a container found without its
 * task, see Worker): the container then keeps the one it was created with.
 */
export function stopGraceMs(task: Task): number | undefined {
  if (task.spec === undefined) return undefined;
  const ms = task.spec.stopGracePeriodMs;
  return ms !== undefined && ms >= 0 ? ms : DEFAULT_STOP_GRACE_MS;
}

/** What the engine says about a container, reduced to what the runner decides on. */
export type ContainerStatus = 'created' | 'running' | 'exited';

/**
 * The container's health check as the engine runs it (the spec's, else the image's):
 * 'none' when it has none or it is disabled (["NONE"]).
 */
export type Health = 'none' | 'starting' | 'healthy' | 'unhealthy';

export interface ContainerState {
  id: string;
  status: ContainerStatus;
  /** Meaningful once `status` is 'exited'. */
  exitCode: number;
  /** Meaningful while `status` is 'running'. */
  health: Health;
}

/** What wait() saw first. */
export type WaitResult =
  | { kind: 'exited'; exitCode: number }
  /** The health check failed (the container still runs); detail: the last probe's output. */
  | { kind: 'unhealthy'; detail: string }
  /** Only for wait(signal, 'healthy'): healthy, or it has no health check. */
  | { kind: 'healthy' };

/** 'exit': until it exits or turns unhealthy. 'healthy': also until it is healthy. */
export type WaitUntil = 'exit' | 'healthy';

export interface Controller {
  /** The container's id once it exists (created here, or adopted from an earlier agent run). */
  readonly containerId: string | undefined;
  /** The container's address on each network it joined, once it runs (or was adopted). */
  readonly addresses?: NetworkAddress[];
  /**
   * What must exist outside the engine before prepare() (e.g. "waiting for network a"),
   * or undefined when nothing is missing.
   */
  waitingFor?(): string | undefined;
  /** Resolves when what waitingFor() answers may have changed (or `signal` aborts). */
  waitChange?(signal: AbortSignal): Promise<void>;
  /** Pull the image when missing and create the container; a no-op when the container exists. */
  prepare(signal: AbortSignal): Promise<void>;
  /** Start the container (a no-op when it runs); resolves with its health just after. */
  start(signal: AbortSignal): Promise<Health>;
  /**
   * Resolve when the container exits or is unhealthy, or (until 'healthy') is healthy.
   * Resolves at once when that is already so. Works for an adopted container.
   */
  wait(signal: AbortSignal, until?: WaitUntil): Promise<WaitResult>;
  /**
   * Stop: SIGTERM, then SIGKILL after graceMs (undefined: the grace period the container was
   * created with). A no-op when it is not running or is gone.
   */
  shutdown(graceMs: number | undefined): Promise<void>;
  /** Remove the container. A no-op when it is gone. */
  remove(): Promise<void>;
  /** The container's state, or undefined when it does not exist. */
  inspect(): Promise<ContainerState | undefined>;
}
