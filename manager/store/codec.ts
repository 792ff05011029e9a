// JSON encoding of stored objects (ts-proto's canonical JSON: enums as names, stable).
import { Config, Network, Node, Secret, Service, SubnetLease, Task } from '../../proto/gen/shoal.js';
import type { Kind } from './keys.js';
import type { Snapshot, WrappedKey } from './store.js';

export function encode(kind: 'nodes', v: Node): string;
export function encode(kind: 'services', v: Service): string;
export function encode(kind: 'tasks', v: Task): string;
export function encode(kind: 'networks', v: Network): string;
export function encode(kind: 'leases', v: SubnetLease): string;
/** A secret's spec.data must be sealed already (the store never sees the plaintext). */
export function encode(kind: 'secrets', v: Secret): string;
export function encode(kind: 'configs', v: Config): string;
export function encode(kind: 'keyring', v: WrappedKey): string;
export function encode(
  kind: Kind,
  v: Node | Service | Task | Network | SubnetLease | Secret | Config | WrappedKey,
): string {
  switch (kind) {
    case 'nodes':
      return JSON.stringify(Node.toJSON(v as Node));
    case 'services':
      return JSON.stringify(Service.toJSON(v as Service));
    case 'tasks':
      return JSON.stringify(Task.toJSON(v as Task));
    case 'networks':
      return JSON.stringify(Network.toJSON(v as Network));
    case 'leases':
      return JSON.stringify(SubnetLease.toJSON(v as SubnetLease));
    case 'secrets':
      return JSON.stringify(Secret.toJSON(v as Secret));
    case 'configs':
      return JSON.stringify(Config.toJSON(v as Config));
    case 'keyring': {
      const k = v as WrappedKey;
      return JSON.stringify({ id: k.id, wrapped: k.wrapped, createdAtMs: k.createdAtMs });
    }
  }
}

export function decodeNode(s: string): Node {
  return Node.fromJSON(JSON.parse(s));
}
export function decodeService(s: string): Service {
  return Service.fromJSON(JSON.parse(s));
}
export function decodeTask(s: string): Task {
  return Task.fromJSON(JSON.parse(s));
}
export function decodeNetwork(s: string): Network {
  return Network.fromJSON(JSON.parse(s));
}
export function decodeLease(s: string): SubnetLease {
  return SubnetLease.fromJSON(JSON.parse(s));
}

export function decodeSecret(s: string): Secret {
  return Secret.fromJSON(JSON.parse(s));
}
export function decodeConfig(s: string): Config {
  return Config.fromJSON(JSON.parse(s));
}
export function decodeWrappedKey(s: string): WrappedKey {
  const o = JSON.parse(s) as Partial<WrappedKey>;
  return { id: String(o.id ?? ''), wrapped: String(o.wrapped ?? ''), createdAtMs: Number(o.createdAtMs ?? 0) };
}

/** Adds one stored object to a snapshot, by its kind. */
export function addToSnapshot(snap: Snapshot, kind: Kind, value: string): void {
  switch (kind) {
    case 'nodes':
      return void snap.nodes.push(decodeNode(value));
    case 'services':
      return void snap.services.push(decodeService(value));
    case 'tasks':
      return void snap.tasks.push(decodeTask(value));
    case 'networks':
      return void snap.networks.push(decodeNetwork(value));
    case 'leases':
      return void snap.leases.push(decodeLease(value));
    case 'secrets':
      return void snap.secrets.push(decodeSecret(value));
    case 'configs':
      return void snap.configs.push(decodeConfig(value));
    case 'keyring':
      return void snap.keyring.push(decodeWrappedKey(value));
  }
}
