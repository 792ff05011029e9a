// JSON encoding of stored objects (ts-proto's canonical JSON: enums as names, stable).
import { Network, Node, Service, SubnetLease, Task } from '../../proto/gen/shoal.js';
import type { Kind } from './keys.js';
import type { Snapshot } from './store.js';

export function encode(kind: 'nodes', v: Node): string;
export function encode(kind: 'services', v: Service): string;
export function encode(kind: 'tasks', v: Task): string;
export function encode(kind: 'networks', v: Network): string;
export function encode(kind: 'leases', v: SubnetLease): string;
export function encode(kind: Kind, v: Node | Service | Task | Network | SubnetLease): string {
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

/** Adds one stored object to a snapshot, by its kind. */
export function addToSnapshot(snap: Snapshot, kind: Kind, value: string): void {
  if (kind === 'nodes') snap.nodes.push(decodeNode(value));
  else if (kind === 'services') snap.services.push(decodeService(value));
  else if (kind === 'tasks') snap.tasks.push(decodeTask(value));
  else if (kind === 'networks') snap.networks.push(decodeNetwork(value));
  else snap.leases.push(decodeLease(value));
}
