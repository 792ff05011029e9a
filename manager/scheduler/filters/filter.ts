// A scheduling filter, as swarmkit's: does it apply to this task, does this node pass,
// and how to say why nodes failed.
import type { Task } from '../../../proto/gen/shoal.js';
import type { NodeInfo } from '../node-info.js';

export interface Filter {
  /** Short reason used in "no suitable node (2 nodes: <reason>)". */
  readonly reason: string;
  /** Prepares for a task; false if the filter does not apply to it. */
  setTask(task: Task): boolean;
  check(info: NodeInfo): boolean;
}
