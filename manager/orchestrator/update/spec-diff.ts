// Which part of a spec a task runs: everything but the replica count and the update and
// rollback configs (changing only those replaces no task, as in Swarm). force_update is part
// of it, so `service update --force` makes every task out of date.
import { ServiceSpec, type Service, type Task } from '../../../proto/gen/shoal.js';

/** A stable text of a value: keys sorted, undefined dropped (map order does not matter). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort();
    return `{${keys
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/** Keyed by the spec object: a pass compares each task's spec once, not once per use. */
const cache = new WeakMap<ServiceSpec, string>();

/** The container-affecting part of a spec, as a comparable string. */
export function containerKey(spec: ServiceSpec | undefined): string {
  if (!spec) return '';
  let key = cache.get(spec);
  if (key === undefined) {
    const json = ServiceSpec.toJSON({ ...spec, replicas: 0, update: undefined, rollback: undefined });
    key = canonical(json);
    cache.set(spec, key);
  }
  return key;
}

/** Whether two specs run the same containers. */
export function sameContainers(a: ServiceSpec | undefined, b: ServiceSpec | undefined): boolean {
  return a === b || containerKey(a) === containerKey(b);
}

/** Whether a task runs what its service asks for now. */
export function upToDate(task: Task, service: Service): boolean {
  return sameContainers(task.spec, service.spec);
}

/** Whether two whole specs are equal (a no-op update). */
export function sameSpec(a: ServiceSpec | undefined, b: ServiceSpec | undefined): boolean {
  return canonical(a ? ServiceSpec.toJSON(a) : null) === canonical(b ? ServiceSpec.toJSON(b) : null);
}
