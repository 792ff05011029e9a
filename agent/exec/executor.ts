// The agent's view of a container engine. agent/exec/docker/ implements it with dockerode;
// test/helpers/fake-executor.ts keeps containers in memory. Nothing here imports an engine.
import type { Resources, Task } from '../../proto/gen/shoal.js';
import type { ContainerState, Controller } from './controller.js';
import type { PayloadLookup } from './payloads.js';

export type { Controller, ContainerState, ContainerStatus, Health, WaitResult, WaitUntil } from './controller.js';
export { DEFAULT_STOP_GRACE_MS, stopGraceMs } from './controller.js';

/** The engine's side of a NodeDescription. */
export interface EngineDescription {
  resources: Resources;
  engineVersion: string;
  os: string;
  arch: string;
}

/** A container the agent created (it carries LABEL.taskId), found again by listManaged(). */
export interface ManagedContainer extends ContainerState {
  taskId: string;
  /** All the container's labels (LABEL.* and the service's own). */
  labels: Record<string, string>;
  /** Its address per Docker network it is attached to (name -> IPv4), when known. */
  networks?: Record<string, string>;
}

export interface Executor {
  describe(): Promise<EngineDescription>;
  /** Every container carrying LABEL.taskId, stopped ones included. */
  listManaged(): Promise<ManagedContainer[]>;
  /**
   * The controller for a task; `existing` is its container when one was found at start;
   * `payloads` holds the data of the secrets and configs it uses.
   */
  controller(task: Task, existing?: ManagedContainer, payloads?: PayloadLookup): Controller;
}
