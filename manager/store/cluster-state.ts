// The manager's in-memory view of desired and observed state, with the indexes the
// orchestrator, scheduler and dispatcher need. Every mutation goes through here: it
// updates the indexes, queues the write to the store, and tells the listeners.
import type { Config, Network, Node, Secret, Service, SubnetLease, Task } from '../../proto/gen/shoal.js';
import type { Snapshot, WrappedKey } from './store.js';
import type { Writer } from './writer.js';
import { encode } from './codec.js';

export type Change =
  | { kind: 'node'; id: string; before?: Node; after?: Node }
  | { kind: 'service'; id: string; before?: Service; after?: Service }
  | { kind: 'task'; id: string; before?: Task; after?: Task }
  | { kind: 'network'; id: string; before?: Network; after?: Network }
  | { kind: 'lease'; id: string; before?: SubnetLease; after?: SubnetLease }
  | { kind: 'secret'; id: string; before?: Secret; after?: Secret }
  | { kind: 'config'; id: string; before?: Config; after?: Config }
  | { kind: 'keyring'; id: string; before?: WrappedKey; after?: WrappedKey };

/** A lease's id: one per (network, node). */
export function leaseId(networkId: string, nodeId: string): string {
  return `${networkId}.${nodeId}`;
}

export type Listener = (change: Change) => void;

export class ClusterState {
  readonly nodes = new Map<string, Node>();
  readonly services = new Map<string, Service>();
  readonly tasks = new Map<string, Task>();
  readonly networks = new Map<string, Network>();
  readonly leases = new Map<string, SubnetLease>();
  /** spec.data sealed (manager/secrets/keyring.ts): the plaintext is never held here. */
  readonly secrets = new Map<string, Secret>();
  readonly configs = new Map<string, Config>();
  /** Data keys wrapped by the cluster key, by id. */
  readonly keyring = new Map<string, WrappedKey>();
  private readonly tasksByService = new Map<string, Set<string>>();
  private readonly tasksByNode = new Map<string, Set<string>>();
  /** `${serviceId}/${slot}` -> task ids: one replica slot's current task and history. */
  private readonly tasksBySlot = new Map<string, Set<string>>();
  private readonly serviceIdByName = new Map<string, string>();
  private readonly listeners = new Set<Listener>();

  constructor(private readonly writer?: Writer) {}

  /** Replaces the whole view (at start, or when taking over leadership). */
  load(snap: Snapshot): void {
    this.nodes.clear();
    this.services.clear();
    this.tasks.clear();
    this.tasksByService.clear();
    this.tasksByNode.clear();
    this.tasksBySlot.clear();
    this.serviceIdByName.clear();
    for (const n of snap.nodes) this.nodes.set(n.id, n);
    for (const s of snap.services) {
      this.services.set(s.id, s);
      if (s.spec) this.serviceIdByName.set(s.spec.name, s.id);
    }
    for (const t of snap.tasks) {
      this.tasks.set(t.id, t);
      this.index(t);
    }
    this.networks.clear();
    this.leases.clear();
    for (const n of snap.networks) this.networks.set(n.id, n);
    for (const l of snap.leases) this.leases.set(leaseId(l.networkId, l.nodeId), l);
    this.secrets.clear();
    this.configs.clear();
    this.keyring.clear();
    for (const s of snap.secrets) this.secrets.set(s.id, s);
    for (const c of snap.configs) this.configs.set(c.id, c);
    for (const k of snap.keyring) this.keyring.set(k.id, k);
  }

  /**
   * Why the store refused the last write of this object for good (writer.ts), after
   * `sync()`; undefined when it was stored (or there is no store). The Control API undoes
   * its change and fails the call with it.
   */
  refusal(kind: 'services' | 'nodes' | 'networks', id: string): Error | undefined {
    return this.writer?.refusal(kind, id);
  }

  /** A copy of the whole view, as a snapshot. */
  snapshot(): Snapshot {
    return {
      nodes: [...this.nodes.values()],
      services: [...this.services.values()],
      tasks: [...this.tasks.values()],
      networks: [...this.networks.values()],
      leases: [...this.leases.values()],
      secrets: [...this.secrets.values()],
      configs: [...this.configs.values()],
      keyring: [...this.keyring.values()],
      revision: 0,
    };
  }

  networkByName(name: string): Network | undefined {
    for (const n of this.networks.values()) if (n.spec?.name === name) return n;
    return undefined;
  }

  putNetwork(network: Network): void {
    const before = this.networks.get(network.id);
    this.networks.set(network.id, network);
    this.writer?.put('networks', network.id, encode('networks', network));
    this.emit({ kind: 'network', id: network.id, before, after: network });
  }

  deleteNetwork(id: string): void {
    const before = this.networks.get(id);
    if (!before) return;
    this.networks.delete(id);
    this.writer?.delete('networks', id);
    this.emit({ kind: 'network', id, before });
  }

  putLease(lease: SubnetLease): void {
    const id = leaseId(lease.networkId, lease.nodeId);
    const before = this.leases.get(id);
    this.leases.set(id, lease);
    this.writer?.put('leases', id, encode('leases', lease));
    this.emit({ kind: 'lease', id, before, after: lease });
  }

  deleteLease(id: string): void {
    const before = this.leases.get(id);
    if (!before) return;
    this.leases.delete(id);
    this.writer?.delete('leases', id);
    this.emit({ kind: 'lease', id, before });
  }

  // Secrets and configs are immutable: a put is a create (or a follower hearing of one).

  secretByName(name: string): Secret | undefined {
    for (const s of this.secrets.values()) if (s.spec?.name === name) return s;
    return undefined;
  }

  putSecret(secret: Secret): void {
    const before = this.secrets.get(secret.id);
    this.secrets.set(secret.id, secret);
    this.writer?.put('secrets', secret.id, encode('secrets', secret));
    this.emit({ kind: 'secret', id: secret.id, before, after: secret });
  }

  deleteSecret(id: string): void {
    const before = this.secrets.get(id);
    if (!before) return;
    this.secrets.delete(id);
    this.writer?.delete('secrets', id);
    this.emit({ kind: 'secret', id, before });
  }

  configByName(name: string): Config | undefined {
    for (const c of this.configs.values()) if (c.spec?.name === name) return c;
    return undefined;
  }

  putConfig(config: Config): void {
    const before = this.configs.get(config.id);
    this.configs.set(config.id, config);
    this.writer?.put('configs', config.id, encode('configs', config));
    this.emit({ kind: 'config', id: config.id, before, after: config });
  }

  deleteConfig(id: string): void {
    const before = this.configs.get(id);
    if (!before) return;
    this.configs.delete(id);
    this.writer?.delete('configs', id);
    this.emit({ kind: 'config', id, before });
  }

  putWrappedKey(key: WrappedKey): void {
    const before = this.keyring.get(key.id);
    this.keyring.set(key.id, key);
    this.writer?.put('keyring', key.id, encode('keyring', key));
    this.emit({ kind: 'keyring', id: key.id, before, after: key });
  }

  deleteWrappedKey(id: string): void {
    const before = this.keyring.get(id);
    if (!before) return;
    this.keyring.delete(id);
    this.writer?.delete('keyring', id);
    this.emit({ kind: 'keyring', id, before });
  }

  /**
   * Calls `listener` after every mutation, in order; returns the unsubscribe (idempotent).
   * A subscriber keeps it and calls it when it closes, so a closed part hears nothing more.
   */
  onChange(listener: Listener): () => void {
    const entry: Listener = (c) => listener(c); // one entry per subscription, even for the same function
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  // ------------------------------------------------------------ reads

  serviceByName(name: string): Service | undefined {
    const id = this.serviceIdByName.get(name);
    return id === undefined ? undefined : this.services.get(id);
  }

  tasksOfService(serviceId: string): Task[] {
    return this.collect(this.tasksByService.get(serviceId));
  }

  /** One slot's tasks (O(tasks of the slot), not of the service). */
  tasksOfSlot(serviceId: string, slot: number): Task[] {
    return this.collect(this.tasksBySlot.get(`${serviceId}/${slot}`));
  }

  tasksOnNode(nodeId: string): Task[] {
    return this.collect(this.tasksByNode.get(nodeId));
  }

  countTasksOnNode(nodeId: string): number {
    return this.tasksByNode.get(nodeId)?.size ?? 0;
  }

  // ------------------------------------------------------------ writes

  putNode(node: Node): void {
    const before = this.nodes.get(node.id);
    this.nodes.set(node.id, node);
    this.writer?.put('nodes', node.id, encode('nodes', node));
    this.emit({ kind: 'node', id: node.id, before, after: node });
  }

  deleteNode(id: string): void {
    const before = this.nodes.get(id);
    if (!before) return;
    this.nodes.delete(id);
    this.writer?.delete('nodes', id);
    this.emit({ kind: 'node', id, before });
  }

  putService(service: Service): void {
    const before = this.services.get(service.id);
    if (before?.spec && before.spec.name !== service.spec?.name) this.serviceIdByName.delete(before.spec.name);
    this.services.set(service.id, service);
    if (service.spec) this.serviceIdByName.set(service.spec.name, service.id);
    this.writer?.put('services', service.id, encode('services', service));
    this.emit({ kind: 'service', id: service.id, before, after: service });
  }

  deleteService(id: string): void {
    const before = this.services.get(id);
    if (!before) return;
    this.services.delete(id);
    if (before.spec) this.serviceIdByName.delete(before.spec.name);
    this.writer?.delete('services', id);
    this.emit({ kind: 'service', id, before });
  }

  putTask(task: Task): void {
    const before = this.tasks.get(task.id);
    // A status update (the common case) moves the task in no index: only re-index on a move.
    const moved =
      !before || before.serviceId !== task.serviceId || before.slot !== task.slot || before.nodeId !== task.nodeId;
    if (before && moved) this.unindex(before);
    this.tasks.set(task.id, task);
    if (moved) this.index(task);
    this.writer?.put('tasks', task.id, () => encode('tasks', task)); // encoded at commit, once per tick
    this.emit({ kind: 'task', id: task.id, before, after: task });
  }

  deleteTask(id: string): void {
    const before = this.tasks.get(id);
    if (!before) return;
    this.unindex(before);
    this.tasks.delete(id);
    this.writer?.delete('tasks', id);
    this.emit({ kind: 'task', id, before });
  }

  // ------------------------------------------------------------ internals

  private emit(change: Change): void {
    for (const l of this.listeners) l(change);
  }

  private collect(ids: Set<string> | undefined): Task[] {
    if (!ids) return [];
    const out: Task[] = [];
    for (const id of ids) {
      const t = this.tasks.get(id);
      if (t) out.push(t);
    }
    return out;
  }

  private index(t: Task): void {
    addTo(this.tasksByService, t.serviceId, t.id);
    addTo(this.tasksBySlot, `${t.serviceId}/${t.slot}`, t.id);
    if (t.nodeId) addTo(this.tasksByNode, t.nodeId, t.id);
  }

  private unindex(t: Task): void {
    removeFrom(this.tasksByService, t.serviceId, t.id);
    removeFrom(this.tasksBySlot, `${t.serviceId}/${t.slot}`, t.id);
    if (t.nodeId) removeFrom(this.tasksByNode, t.nodeId, t.id);
  }
}

function addTo(m: Map<string, Set<string>>, k: string, v: string): void {
  let s = m.get(k);
  if (!s) m.set(k, (s = new Set()));
  s.add(v);
}

function removeFrom(m: Map<string, Set<string>>, k: string, v: string): void {
  const s = m.get(k);
  if (!s) return;
  s.delete(v);
  if (s.size === 0) m.delete(k);
}
