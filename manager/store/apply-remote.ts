// A follower's view follows the leader's writes: one etcd change applied to ClusterState.
import type { ClusterState } from './cluster-state.js';
import type { RemoteChange } from './etcd-store.js';
import {
  decodeConfig,
  decodeLease,
  decodeNetwork,
  decodeNode,
  decodeSecret,
  decodeService,
  decodeTask,
  decodeWrappedKey,
} from './codec.js';

export function applyRemote(state: ClusterState, c: RemoteChange): void {
  const v = c.value;
  switch (c.kind) {
    case 'nodes':
      return v === undefined ? state.deleteNode(c.id) : state.putNode(decodeNode(v));
    case 'services':
      return v === undefined ? state.deleteService(c.id) : state.putService(decodeService(v));
    case 'tasks':
      return v === undefined ? state.deleteTask(c.id) : state.putTask(decodeTask(v));
    case 'networks':
      return v === undefined ? state.deleteNetwork(c.id) : state.putNetwork(decodeNetwork(v));
    case 'leases':
      return v === undefined ? state.deleteLease(c.id) : state.putLease(decodeLease(v));
    case 'secrets':
      return v === undefined ? state.deleteSecret(c.id) : state.putSecret(decodeSecret(v));
    case 'configs':
      return v === undefined ? state.deleteConfig(c.id) : state.putConfig(decodeConfig(v));
    case 'keyring':
      return v === undefined ? state.deleteWrappedKey(c.id) : state.putWrappedKey(decodeWrappedKey(v));
  }
}
