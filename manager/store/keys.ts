// Every etcd key shoal uses is built here.

export const ROOT = '/shoal/v1/';

export type Kind = 'nodes' | 'services' | 'tasks' | 'networks' | 'leases';
export const KINDS: readonly Kind[] = ['nodes', 'services', 'tasks', 'networks', 'leases'];

export function prefix(kind: Kind): string {
  return `${ROOT}${kind}/`;
}

export function key(kind: Kind, id: string): string {
  return `${ROOT}${kind}/${id}`;
}

/** Splits a key back into kind and id; undefined for keys that are not an object's. */
export function parseKey(k: string): { kind: Kind; id: string } | undefined {
  if (!k.startsWith(ROOT)) return undefined;
  const rest = k.slice(ROOT.length);
  const slash = rest.indexOf('/');
  if (slash < 0) return undefined;
  const kind = rest.slice(0, slash) as Kind;
  if (!KINDS.includes(kind)) return undefined;
  return { kind, id: rest.slice(slash + 1) };
}
