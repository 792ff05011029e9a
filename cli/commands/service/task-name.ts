// How a task is named wherever the CLI shows one (service ps, service lookup, events).
import type { Task } from '../../../proto/gen/shoal.js';
import { SHORT_ID } from '../../output.js';

/** `service.slot` (a global task: `service.<node id prefix>`), as in container names. */
export function taskName(task: Pick<Task, 'serviceName' | 'slot' | 'nodeId'>): string {
  const slotPart = task.slot > 0 ? String(task.slot) : task.nodeId.slice(0, SHORT_ID);
  return `${task.serviceName}.${slotPart}`;
}
