// Registry credentials sent with --with-registry-auth, kept like a secret: checked, sealed
// with the secrets' data key (manager/secrets/keyring.ts, itself sealed by the cluster key)
// and stored in the keyring key space as `keyring/registry-auth/<service id>`, so a raw etcd
// read shows no credential. Never in a Service (only has_registry_auth), opened only by the
// leader's dispatcher for the Assignments of nodes that run a task of that service
// (dispatcher/payloads.ts), removed with the service.
//
//   X-Registry-Auth ─ check ─► seal (data key, aad "shoal secret registry-auth/<id>") ─► etcd keyring/registry-auth/<id>
import { Secret } from '../../proto/gen/shoal.js';
import { decodeRegistryAuth } from '../../proto/registry-auth.js';
import type { Keyring } from '../secrets/keyring.js';
import type { ClusterState } from '../store/cluster-state.js';
import { invalidArgument, unavailable } from '../errors.js';

const PREFIX = 'registry-auth/';

function keyId(serviceId: string): string {
  return `${PREFIX}${serviceId}`;
}

/** Refuses a malformed X-Registry-Auth with one line (INVALID_ARGUMENT); '' is fine (none). */
export function checkRegistryAuth(registryAuth: string): void {
  if (registryAuth === '') return;
  try {
    decodeRegistryAuth(registryAuth);
  } catch (err) {
    throw invalidArgument(`invalid registry_auth: ${(err as Error).message}`);
  }
}

/**
 * Stores `registryAuth` sealed for the service (a create, or an update that sent some);
 * '' stores nothing and keeps what is there. Returns the service's has_registry_auth.
 * Needs the cluster key: without it, credentials are refused (UNAVAILABLE).
 */
export function storeRegistryAuth(
  state: ClusterState,
  keyring: Keyring | undefined,
  serviceId: string,
  registryAuth: string,
): boolean {
  if (registryAuth === '') return state.keyring.has(keyId(serviceId));
  checkRegistryAuth(registryAuth);
  if (!keyring) throw unavailable('this manager cannot seal registry credentials (it has no cluster key)');
  const sealed = keyring.sealSecret(state, keyId(serviceId), Buffer.from(registryAuth, 'utf8'));
  state.putWrappedKey({ id: keyId(serviceId), wrapped: sealed.toString('base64'), createdAtMs: Date.now() });
  return true;
}

/** The stored credentials of a service, opened; undefined when it has none (or they do not open). */
export function openRegistryAuth(state: ClusterState, keyring: Keyring, serviceId: string): string | undefined {
  const stored = state.keyring.get(keyId(serviceId));
  if (stored === undefined) return undefined;
  const sealed = Secret.fromPartial({
    id: keyId(serviceId),
    spec: { name: `registry auth of service ${serviceId}`, data: Buffer.from(stored.wrapped, 'base64') },
  });
  return keyring.openSecret(state, sealed).toString('utf8');
}

/**
 * Changes with every store of new credentials (the sealed form's nonce, which is random and
 * no secret): the dispatcher sends a service's credentials again when it changed.
 */
export function registryAuthStamp(state: ClusterState, serviceId: string): string | undefined {
  return state.keyring.get(keyId(serviceId))?.wrapped.slice(0, 24);
}

/** Removes a service's credentials (with the service). */
export function dropRegistryAuth(state: ClusterState, serviceId: string): void {
  if (state.keyring.has(keyId(serviceId))) state.deleteWrappedKey(keyId(serviceId));
}
