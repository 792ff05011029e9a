// The cluster key: 32 random bytes every manager holds in its state directory (mode 0600)
// and nowhere else. It wraps what the cluster keeps secret in etcd (the root CA's private
// key, the data key of secrets), so a raw etcd read shows no usable secret. The first
// manager creates it; a manager that joins gets it from the leader over mutual TLS.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const CLUSTER_KEY_BYTES = 32;
export const CLUSTER_KEY_FILE = 'cluster.key';

export function clusterKeyPath(stateDir: string): string {
  return join(stateDir, CLUSTER_KEY_FILE);
}

/** The key in the state directory, or undefined when this manager has none yet. */
export function readClusterKey(stateDir: string): Buffer | undefined {
  const path = clusterKeyPath(stateDir);
  if (!existsSync(path)) return undefined;
  const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'base64');
  if (key.length !== CLUSTER_KEY_BYTES)
    throw new Error(`${path}: not a cluster key (expected ${CLUSTER_KEY_BYTES} bytes)`);
  return key;
}

/** Writes the key (base64, mode 0600); it never leaves the state directory otherwise. */
export function writeClusterKey(stateDir: string, key: Buffer): void {
  if (key.length !== CLUSTER_KEY_BYTES) throw new Error(`a cluster key has ${CLUSTER_KEY_BYTES} bytes`);
  writeFileSync(clusterKeyPath(stateDir), key.toString('base64') + '\n', { mode: 0o600 });
}

export function newClusterKey(): Buffer {
  return randomBytes(CLUSTER_KEY_BYTES);
}
