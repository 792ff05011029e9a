// The leader's endpoint registration: derives from ClusterState which tasks programs can
// reach and keeps /shoal/v1/endpoints/<service>/<task> in etcd equal to that, each key
// bound to its node's lease. A task has an endpoint iff it is RUNNING (a task with a
// health check reaches RUNNING only once healthy), desired to run (a task being stopped
// leaves discovery before its container stops), on a READY node, with an address.
//
// O(1) per task change; a node going down costs one lease revoke (etcd deletes its keys);
// a node coming back re-evaluates the tasks on it. Writes go through the leader's Writer
// (coalesced, batched, fenced).
import { setTimeout as sleep } from 'node:timers/promises';
import { Endpoint, NodeStatus, type Node, type Task } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { ENDPOINTS_PREFIX, endpointId, prefixEnd } from '../store/keys.js';
import type { ChangeSource, LeaseStore } from '../store/store.js';
import type { Writer } from '../store/writer.js';
import { NodeLeases } from './leases.js';

const RECONCILE_RETRY_MS = 500;
const REVOKE_ATTEMPTS = 3;
const REVOKE_RETRY_MS = 500;

export interface EndpointRegistryOptions {
  /** Endpoint lease TTL (default ENDPOINT_LEASE_TTL_S). */
  ttlSeconds?: number;
  /** Keepalive period (default LEASE_KEEPALIVE_MS). */
  keepAliveMs?: number;
  now?: () => number;
  log?: (line: string) => void;
}

interface Registration {
  /** endpointId(service, task): the key within the 'endpoints' space */
  id: string;
  nodeId: string;
  json: string;
  registeredAtMs: number;
}

/** True when the spec has a health check of its own (not absent, not ["NONE"]). */
export function hasHealthCheck(task: Task): boolean {
  const test = task.spec?.health?.test ?? [];
  return test.length > 0 && test[0] !== 'NONE';
}

/** The endpoint a task should have now, or undefined (see the file comment). */
export function desiredEndpoint(task: Task, node: Node | undefined, registeredAtMs: number): Endpoint | undefined {
  if (!task.nodeId || !node || node.status !== NodeStatus.READY) return undefined;
  if (task.status?.state !== TaskState.RUNNING || task.desiredState > TaskState.RUNNING) return undefined;
  // A running task whose agent reports an error (its health check failed and it is being
  // stopped) serves no more.
  if (task.status.err) return undefined;
  const addresses = task.status.addresses ?? [];
  if (addresses.length === 0) return undefined;
  return {
    serviceId: task.serviceId,
    serviceName: task.serviceName,
    taskId: task.id,
    slot: task.slot,
    nodeId: task.nodeId,
    nodeName: node.description?.hostname ?? '',
    nodeAddress: node.description?.address ?? '',
    addresses,
    ports: task.spec?.ports ?? [],
    healthChecked: hasHealthCheck(task),
    registeredAtMs,
  };
}

export class EndpointRegistry {
  private readonly registered = new Map<string, Registration>(); // by task id
  private readonly byNode = new Map<string, Set<string>>(); // node id -> task ids
  private readonly leases: NodeLeases;
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private closed = false;
  private started = false;
  private readonly off: () => void;
  /** Resolves once the term's reconcile has read etcd and queued its writes. */
  reconciled: Promise<void> = Promise.resolve();

  constructor(
    private readonly state: ClusterState,
    private readonly writer: Writer,
    private readonly store: LeaseStore & Pick<ChangeSource, 'range'>,
    opts: EndpointRegistryOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.leases = new NodeLeases(store, {
      ttlSeconds: opts.ttlSeconds,
      keepAliveMs: opts.keepAliveMs,
      log: this.log,
      onGranted: (nodeId, leaseId) => this.writeNode(nodeId, leaseId),
      onLost: (nodeId) => this.rewriteNode(nodeId),
    });
    writer.onLeaseLost = (leaseId) => this.leases.lost(leaseId);
    this.off = state.onChange((c) => {
      if (this.started) this.observe(c);
    });
  }

  /**
   * Starts the term: registers every task that should have an endpoint (each with this
   * term's node leases), then reads what etcd holds and deletes the rest. O(tasks), once.
   */
  start(): Promise<void> {
    if (this.started) return this.reconciled;
    this.started = true;
    this.leases.start();
    this.reconciled = this.reconcile();
    return this.reconciled;
  }

  /** Ends the term: keepalives stop, the leases expire by themselves (the next leader re-puts). */
  async close(): Promise<void> {
    this.closed = true;
    this.off();
    await this.leases.close();
  }

  /** Endpoints this leader holds registered (for tests and logs). */
  get size(): number {
    return this.registered.size;
  }

  /** The node's lease id, when granted (for tests). */
  leaseOf(nodeId: string): string | undefined {
    return this.leases.peek(nodeId);
  }

  // ------------------------------------------------------------ reconcile

  private async reconcile(): Promise<void> {
    for (;;) {
      if (this.closed) return;
      try {
        const { kvs } = await this.store.range(ENDPOINTS_PREFIX, prefixEnd(ENDPOINTS_PREFIX));
        if (this.closed) return;
        // Keep when each endpoint was first registered across leader changes.
        const existingAt = new Map<string, number>();
        for (const kv of kvs) existingAt.set(kv.key.slice(ENDPOINTS_PREFIX.length), registeredAt(kv.value));
        // Every desired endpoint is put again, bound to this term's leases (the previous
        // leader's expire by themselves).
        for (const t of this.state.tasks.values())
          this.evaluate(t, existingAt.get(endpointId(t.serviceName, t.id)) || undefined);
        const want = new Set<string>();
        for (const r of this.registered.values()) want.add(r.id);
        let deleted = 0;
        for (const id of existingAt.keys()) {
          if (want.has(id)) continue;
          this.writer.delete('endpoints', id);
          deleted++;
        }
        this.log(
          `endpoints: ${this.registered.size} registered, ${deleted} stale deleted (${kvs.length} were in etcd)`,
        );
        return;
      } catch (err) {
        this.log(`endpoints: ${(err as Error).message} (retrying)`);
        await sleep(RECONCILE_RETRY_MS);
      }
    }
  }

  // ------------------------------------------------------------ changes

  private observe(c: Change): void {
    if (c.kind === 'task') {
      if (c.after) this.evaluate(c.after);
      else this.unregister(c.id, true);
    } else if (c.kind === 'node') {
      const after = c.after;
      if (!after || after.status !== NodeStatus.READY) {
        this.dropNode(c.id);
        return;
      }
      const before = c.before;
      const changed =
        !before ||
        before.status !== NodeStatus.READY ||
        before.description?.hostname !== after.description?.hostname ||
        before.description?.address !== after.description?.address;
      if (changed) for (const t of this.state.tasksOnNode(c.id)) this.evaluate(t);
    }
  }

  /** Brings the task's registration in line with what it should be (`firstAt`: when etcd says it was registered). */
  private evaluate(task: Task, firstAt?: number): void {
    const prev = this.registered.get(task.id);
    const node = task.nodeId ? this.state.nodes.get(task.nodeId) : undefined;
    const ep = desiredEndpoint(task, node, prev?.registeredAtMs ?? firstAt ?? this.now());
    if (!ep) {
      if (prev) this.unregister(task.id, true);
      return;
    }
    const json = JSON.stringify(Endpoint.toJSON(ep));
    if (prev && prev.json === json) return;
    const id = endpointId(task.serviceName, task.id);
    if (prev && (prev.nodeId !== task.nodeId || prev.id !== id)) this.unregister(task.id, true);
    const reg: Registration = { id, nodeId: task.nodeId, json, registeredAtMs: ep.registeredAtMs };
    this.registered.set(task.id, reg);
    let set = this.byNode.get(task.nodeId);
    if (!set) this.byNode.set(task.nodeId, (set = new Set()));
    set.add(task.id);
    const lease = this.leases.leaseOf(task.nodeId);
    if (lease !== undefined) this.writer.put('endpoints', reg.id, reg.json, lease);
    // else: written by writeNode() once the node's lease is granted
  }

  private unregister(taskId: string, deleteKey: boolean): void {
    const reg = this.registered.get(taskId);
    if (!reg) return;
    this.registered.delete(taskId);
    const set = this.byNode.get(reg.nodeId);
    set?.delete(taskId);
    if (set?.size === 0) this.byNode.delete(reg.nodeId);
    if (deleteKey) this.writer.delete('endpoints', reg.id);
  }

  /** The node's lease was granted: write every endpoint on it. */
  private writeNode(nodeId: string, leaseId: string): void {
    for (const taskId of this.byNode.get(nodeId) ?? []) {
      const reg = this.registered.get(taskId);
      if (reg) this.writer.put('endpoints', reg.id, reg.json, leaseId);
    }
  }

  /** The node's lease is gone from etcd (and its keys with it): a new lease, the same endpoints. */
  private rewriteNode(nodeId: string): void {
    if (this.closed || !this.byNode.has(nodeId)) return;
    const lease = this.leases.leaseOf(nodeId);
    if (lease !== undefined) this.writeNode(nodeId, lease);
  }

  /**
   * The node is down or gone: forget its endpoints and revoke its lease, which deletes
   * them from etcd in one step. Queued puts bound to the lease become deletes first, and
   * the revoke waits for what is in flight, so no commit names the lease after it.
   */
  private dropNode(nodeId: string): void {
    const tasks = this.byNode.get(nodeId);
    this.byNode.delete(nodeId);
    const ids: string[] = [];
    for (const taskId of tasks ?? []) {
      const reg = this.registered.get(taskId);
      if (reg) ids.push(reg.id);
      this.registered.delete(taskId);
    }
    const leaseId = this.leases.release(nodeId);
    if (leaseId === undefined) {
      // Its lease was still being granted: what etcd holds is the previous leader's. Delete it.
      for (const id of ids) this.writer.delete('endpoints', id);
      return;
    }
    this.writer.withdrawLease(leaseId);
    void this.revokeAfterSync(leaseId, ids.length);
  }

  private async revokeAfterSync(leaseId: string, count: number): Promise<void> {
    await this.writer.sync();
    for (let attempt = 1; ; attempt++) {
      try {
        await this.store.revokeLease(leaseId);
        if (count > 0) this.log(`endpoints: revoked lease ${leaseId} (${count} endpoint${count === 1 ? '' : 's'})`);
        return;
      } catch (err) {
        if (attempt >= REVOKE_ATTEMPTS) {
          this.log(`endpoints: ${(err as Error).message}; the lease expires by itself`);
          return;
        }
        await sleep(REVOKE_RETRY_MS);
      }
    }
  }
}

function registeredAt(value: string | undefined): number {
  if (!value) return 0;
  try {
    return Number((JSON.parse(value) as { registeredAtMs?: string | number }).registeredAtMs ?? 0) || 0;
  } catch {
    return 0;
  }
}
