// What a `service logs` reference names: a service (every task of it still in the store,
// ended ones too) or one task (its id or a unique id prefix). Checked before anything is sent.
import type { LogOptions, Service, Task } from '../../proto/gen/shoal.js';
import { checkLogOptions } from '../../proto/logs.js';
import { checkRef } from '../../proto/spec-rules.js';
import type { ClusterState } from '../store/cluster-state.js';
import { asInvalid } from '../controlapi/validate.js';
import { invalidArgument, notFound } from '../errors.js';

export interface LogTarget {
  /** The service followed for new tasks (undefined: one task). */
  service: Service | undefined;
  tasks: Task[];
}

export function validateLogOptions(options: LogOptions | undefined, now: number): LogOptions {
  const o: LogOptions = options ?? { follow: false, tail: -1, sinceMs: 0, timestamps: false };
  asInvalid(() => checkLogOptions(o, now));
  return o;
}

export function resolveLogTarget(state: ClusterState, ref: string): LogTarget {
  asInvalid(() => checkRef(ref, 'service or task'));
  const service = findService(state, ref);
  if (service) return { service, tasks: state.tasksOfService(service.id) };
  const task = state.tasks.get(ref) ?? uniquePrefix([...state.tasks.values()], ref, 'task');
  if (task) return { service: undefined, tasks: [task] };
  throw notFound(`no such service or task: ${ref}`);
}

function findService(state: ClusterState, ref: string): Service | undefined {
  return (
    state.serviceByName(ref) ?? state.services.get(ref) ?? uniquePrefix([...state.services.values()], ref, 'service')
  );
}

function uniquePrefix<T extends { id: string }>(all: T[], ref: string, what: string): T | undefined {
  const found = all.filter((x) => x.id.startsWith(ref));
  if (found.length > 1) throw invalidArgument(`${what} id prefix "${ref}" is ambiguous`);
  return found[0];
}
