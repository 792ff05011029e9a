// How a task is named wherever the CLI shows one (service ps, service lookup, events).
import type { Task } from '../../../proto/gen/shoal.js';
import { taskName as name } from '../../../proto/naming.js';

/** `service.slot` (a global task: `service.<node id prefix>`), as in container names. */
export function taskName(task: Pick<Task, 'serviceName' | 'slot' | 'nodeId'>): string {
  return name(task.serviceName, task.slot, task.nodeId);
}
