// Every etcd key shoal uses is built here.

export const ROOT = '/shoal/v1/';

/**
 * The kinds of objects ClusterState holds (and snapshots carry). `secrets` hold their data
 * sealed (manager/secrets/keyring.ts); `keyring` holds data keys wrapped by the cluster key.
 */
export type Kind = 'nodes' | 'services' | 'tasks' | 'networks' | 'leases' | 'secrets' | 'configs' | 'keyring';
export const KINDS: readonly Kind[] = [
  'nodes',
  'services',
  'tasks',
  'networks',
  'leases',
  'secrets',
  'configs',
  'keyring',
];

/**
 * Every key space the Writer writes: the kinds, plus the leader's discovery
 * endpoints (`endpoints/<service name>/<task id>`, bound to a per-node etcd lease), which
 * are not part of ClusterState: parseKey ignores them, so snapshots never hold them.
 */
export type KeySpace = Kind | 'endpoints';

export function prefix(kind: KeySpace): string {
  return `${ROOT}${kind}/`;
}

export function key(kind: KeySpace, id: string): string {
  return `${ROOT}${kind}/${id}`;
}

/** Where a service's endpoints live: /shoal/v1/endpoints/<service name>/. */
export const ENDPOINTS_PREFIX = prefix('endpoints');

/** The id of an endpoint within the 'endpoints' key space. */
export function endpointId(serviceName: string, taskId: string): string {
  return `${serviceName}/${taskId}`;
}

/** The first key after every key that starts with `p` (etcd's range_end; our prefixes are ASCII). */
export function prefixEnd(p: string): string {
  return p.slice(0, -1) + String.fromCharCode(p.charCodeAt(p.length - 1) + 1);
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

/** The cluster's CA and join tokens (one JSON record), and who holds a certificate (members/<id>). */
export const SECURITY_ROOT = '/shoal/security/';
export const CA_KEY = `${SECURITY_ROOT}ca`;
export const MEMBERS_PREFIX = `${SECURITY_ROOT}members/`;
export function memberKey(id: string): string {
  return `${MEMBERS_PREFIX}${id}`;
}
