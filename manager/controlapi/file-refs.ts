// Secrets and configs as a service uses them: CreateService resolves each reference's name to
// the object's id and fills in its target (rules.ts); Remove{Secret,Config} asks who uses one.
import type { ConfigReference, SecretReference, ServiceSpec } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import { invalidArgument, notFound } from '../errors.js';
import { containerPath, MAX_FILE_REFS, normalizeTarget, type FileKind } from '../secrets/rules.js';

/** The spec with its secret and config references checked and resolved (ids, targets). */
export function resolveFileRefs(state: ClusterState, spec: ServiceSpec): ServiceSpec {
  const paths = new Set<string>();
  const secrets = (spec.secrets ?? []).map((r): SecretReference => {
    const found = r.secretName ? state.secretByName(r.secretName) : undefined;
    const { name, target } = resolve('secret', r.secretName, r.target, found?.id, paths, spec.secrets.length);
    return { secretId: found!.id, secretName: name, target };
  });
  const configs = (spec.configs ?? []).map((r): ConfigReference => {
    const found = r.configName ? state.configByName(r.configName) : undefined;
    const { name, target } = resolve('config', r.configName, r.target, found?.id, paths, spec.configs.length);
    return { configId: found!.id, configName: name, target };
  });
  return { ...spec, secrets, configs };
}

function resolve(
  kind: FileKind,
  name: string,
  given: SecretReference['target'],
  id: string | undefined,
  paths: Set<string>,
  count: number,
): { name: string; target: NonNullable<SecretReference['target']> } {
  if (count > MAX_FILE_REFS) throw invalidArgument(`a service uses at most ${MAX_FILE_REFS} ${kind}s, got ${count}`);
  if (!name) throw invalidArgument(`a ${kind} reference needs a ${kind} name`);
  if (id === undefined) throw notFound(`${kind} ${name} not found`);
  const target = normalizeTarget(kind, name, given);
  if (typeof target === 'string') throw invalidArgument(target);
  const path = containerPath(kind, target);
  if (paths.has(path)) throw invalidArgument(`${path} is the target of two secrets or configs`);
  paths.add(path);
  return { name, target };
}

/** Names of the services whose spec uses the secret (or config) with this id, sorted. */
export function servicesUsing(state: ClusterState, kind: FileKind, id: string): string[] {
  const out: string[] = [];
  for (const s of state.services.values()) {
    const uses =
      kind === 'secret'
        ? s.spec?.secrets.some((r) => r.secretId === id)
        : s.spec?.configs.some((r) => r.configId === id);
    if (uses) out.push(s.spec!.name);
  }
  return out.sort();
}
