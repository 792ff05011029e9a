// Secrets at rest: each secret's data is sealed (cipher.ts) under the cluster's secrets data
// key, with the secret's id as associated data; the data key is stored in etcd (kind
// 'keyring') sealed under the cluster key, which lives only in each manager's state
// directory (manager/security/cluster-key.ts). A raw etcd read shows neither key nor data.
//
//   cluster key (state dir) --wraps--> data key (etcd: keyring/secrets) --seals--> secret data (etcd: secrets/<id>)
//
// Only the leader seals (CreateSecret is a write) and opens (the dispatcher, for delivery).
import { randomBytes } from 'node:crypto';
import type { Secret } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import { KEY_BYTES, open, seal } from './cipher.js';

/** The id (and etcd key) of the data key that seals secrets. */
export const SECRETS_DATA_KEY = 'secrets';

function keyAad(id: string): string {
  return `shoal data key ${id}`;
}

function secretAad(secretId: string): string {
  return `shoal secret ${secretId}`;
}

export class Keyring {
  /** Unwrapped data keys, by their wrapped form (a replaced key is looked up afresh). */
  private readonly unwrapped = new Map<string, Buffer>();

  constructor(private readonly clusterKey: Buffer) {
    if (clusterKey.length !== KEY_BYTES) throw new Error(`a cluster key has ${KEY_BYTES} bytes`);
  }

  /**
   * Seals a secret's data for the store. The first secret creates the data key (written
   * through `state`, so it is durable with the secret that needs it).
   */
  sealSecret(state: ClusterState, secretId: string, data: Uint8Array): Buffer {
    return seal(this.dataKey(state, true)!, data, secretAad(secretId));
  }

  /** The plaintext of a stored secret. Throws OpenError when it does not open. */
  openSecret(state: ClusterState, secret: Secret): Buffer {
    const key = this.dataKey(state, false);
    if (key === undefined) throw new Error(`secret ${secret.spec?.name ?? secret.id}: the secrets data key is missing`);
    return open(key, secret.spec?.data ?? new Uint8Array(), secretAad(secret.id));
  }

  private dataKey(state: ClusterState, create: boolean): Buffer | undefined {
    const stored = state.keyring.get(SECRETS_DATA_KEY);
    if (stored === undefined) {
      if (!create) return undefined;
      const key = randomBytes(KEY_BYTES);
      const wrapped = seal(this.clusterKey, key, keyAad(SECRETS_DATA_KEY)).toString('base64');
      state.putWrappedKey({ id: SECRETS_DATA_KEY, wrapped, createdAtMs: Date.now() });
      this.unwrapped.set(wrapped, key);
      return key;
    }
    let key = this.unwrapped.get(stored.wrapped);
    if (key === undefined) {
      key = open(this.clusterKey, Buffer.from(stored.wrapped, 'base64'), keyAad(stored.id));
      this.unwrapped.set(stored.wrapped, key);
    }
    return key;
  }
}
