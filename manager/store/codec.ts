// JSON encoding of stored objects (ts-proto's canonical JSON: enums as names, stable).
import { Node, Service, Task } from '../../proto/gen/shoal.js';
import type { Kind } from './keys.js';

export function encode(kind: 'nodes', v: Node): string;
export function encode(kind: 'services', v: Service): string;
export function encode(kind: 'tasks', v: Task): string;
export function encode(kind: Kind, v: Node | Service | Task): string {
  switch (kind) {
    case 'nodes':
      return JSON.stringify(Node.toJSON(v as Node));
    case 'services':
      return JSON.stringify(Service.toJSON(v as Service));
    case 'tasks':
      return JSON.stringify(Task.toJSON(v as Task));
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
