// What `stack deploy` does, decided before the first call: the stack's objects (convert.ts)
// against what the cluster holds now -> create what is missing, update the services whose
// spec changed (with the spec_version read), leave the others alone (same containers),
// and with --prune remove the stack's services no longer in the file. Pure.
import { isPinnedFrom } from '../../../proto/image-ref.js';
import { ServiceSpec, type Service } from '../../../proto/gen/shoal.js';
import { ComposeError, NAMESPACE_LABEL } from './compose/common.js';
import type { StackFile, StackNetwork, StackObjects } from './compose/convert.js';

export interface ClusterNow {
  services: Service[];
  networks: string[];
  secrets: string[];
  configs: string[];
}

export type Action =
  | { kind: 'create-network'; network: StackNetwork }
  | { kind: 'create-file'; file: StackFile }
  | { kind: 'create-service'; spec: ServiceSpec }
  | { kind: 'update-service'; id: string; spec: ServiceSpec; specVersion: number }
  | { kind: 'remove-service'; id: string; name: string };

export interface Plan {
  actions: Action[];
  /** Services whose spec is the one stored: not touched. */
  unchanged: string[];
}

export function stackServices(services: readonly Service[], stack: string): Service[] {
  return services.filter((s) => s.spec?.labels[NAMESPACE_LABEL] === stack);
}

/**
 * `spec` as the manager would store it next to `stored`: the fields the manager fills in
 * itself are taken from the stored spec (ids from names, a digest-pinned image, and every
 * optional field the file leaves unset: the manager stores its default there, e.g. the
 * restart policy, the stop grace period, the update configs).
 */
function comparable(spec: ServiceSpec, stored: ServiceSpec): unknown {
  const s: ServiceSpec = ServiceSpec.fromPartial(spec);
  const fill = s as unknown as Record<string, unknown>;
  for (const [key, value] of Object.entries(stored)) if (fill[key] === undefined) fill[key] = value;
  if (s.restart !== undefined && s.restart.delayMs === undefined && stored.restart?.delayMs !== undefined) {
    s.restart = { ...s.restart, delayMs: stored.restart.delayMs };
  }
  s.secrets = s.secrets.map((r) => ({ ...r, secretId: '' }));
  s.configs = s.configs.map((r) => ({ ...r, configId: '' }));
  if (isPinnedFrom(stored.image, spec.image)) s.image = stored.image;
  s.forceUpdate = stored.forceUpdate;
  return ServiceSpec.toJSON(s);
}

/** JSON with every object's keys sorted (label maps compare whatever their order). */
function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    const keys = Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** True when deploying `desired` over `stored` would change nothing. */
export function sameSpec(desired: ServiceSpec, stored: ServiceSpec): boolean {
  const a = sortedJson(comparable(desired, stored));
  const b = sortedJson(comparable(stored, stored));
  return a === b;
}

export function planDeploy(objects: StackObjects, now: ClusterNow, stack: string, prune: boolean): Plan {
  const actions: Action[] = [];
  for (const network of objects.networks) {
    const exists = now.networks.includes(network.name);
    if (network.external) {
      if (!exists) {
        throw new ComposeError(
          `network "${network.name}" is declared as external, but could not be found. You need to create a network before the stack is deployed`,
        );
      }
    } else if (!exists) actions.push({ kind: 'create-network', network });
  }
  for (const file of objects.files) {
    const exists = (file.kind === 'secret' ? now.secrets : now.configs).includes(file.name);
    if (file.external && !exists) {
      throw new ComposeError(`${file.kind} "${file.name}" is declared as external, but could not be found`);
    }
    // Secrets and configs are immutable: one that exists is used as it is.
    if (!file.external && !exists) actions.push({ kind: 'create-file', file });
  }
  const unchanged: string[] = [];
  const byName = new Map(now.services.map((s) => [s.spec?.name ?? '', s] as const));
  for (const spec of objects.services) {
    const current = byName.get(spec.name);
    if (current === undefined) actions.push({ kind: 'create-service', spec });
    else if (current.spec !== undefined && sameSpec(spec, current.spec)) unchanged.push(spec.name);
    else {
      const next = { ...spec, forceUpdate: current.spec?.forceUpdate ?? 0 };
      actions.push({ kind: 'update-service', id: current.id, spec: next, specVersion: current.specVersion });
    }
  }
  if (prune) {
    const wanted = new Set(objects.services.map((s) => s.name));
    for (const s of stackServices(now.services, stack)) {
      if (!wanted.has(s.spec?.name ?? ''))
        actions.push({ kind: 'remove-service', id: s.id, name: s.spec?.name ?? s.id });
    }
  }
  return { actions, unchanged };
}
