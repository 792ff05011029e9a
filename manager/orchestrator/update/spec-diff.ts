// Which tasks a spec change replaces: proto/spec-rules.ts's containerSpecKey (everything but
// replicas and the update/rollback configs; force_update included), cached per spec object so
// a pass compares each task's spec once.
import { ServiceSpec, type Service, type Task } from '../../../proto/gen/shoal.js';
import { canonicalJson, containerSpecKey } from '../../../proto/spec-rules.js';

const cache = new WeakMap<ServiceSpec, string>();

/** The container-affecting part of a spec, as a comparable string. */
export function containerKey(spec: ServiceSpec | undefined): string {
  if (!spec) return '';
  let key = cache.get(spec);
  if (key === undefined) {
    key = containerSpecKey(spec);
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
  return canonicalJson(a ? ServiceSpec.toJSON(a) : null) === canonicalJson(b ? ServiceSpec.toJSON(b) : null);
}
