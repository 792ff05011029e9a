// One etcd lease per node, for the leader's endpoint keys: granted the first time the node
// needs one, renewed while the node is ready over ONE keepalive stream shared by every
// node (1,000 nodes must not mean 1,000 streams), forgotten when the node goes down (the
// registry then revokes it, which deletes the node's endpoints in etcd at once). A lease
// etcd no longer knows (expired while etcd or this manager stalled) is reported lost, and
// the registry takes a new one and writes the node's endpoints again.
import type { KeepAliveStream, LeaseStore } from '../store/store.js';

/** A dead leader's endpoints vanish this long after its last renewal (the next leader re-puts them sooner). */
export const ENDPOINT_LEASE_TTL_S = 10;
/** Every lease is renewed this often: three chances per TTL. */
export const LEASE_KEEPALIVE_MS = 3_000;
/** Grants in flight at once (a new leader of 1,000 nodes grants 1,000 leases). */
const MAX_GRANTS_IN_FLIGHT = 32;
const GRANT_RETRY_MIN_MS = 100;
const GRANT_RETRY_MAX_MS = 2_000;

interface NodeLease {
  nodeId: string;
  id?: string; // undefined while being granted
}

export interface NodeLeasesOptions {
  ttlSeconds?: number;
  keepAliveMs?: number;
  log?: (line: string) => void;
  /** The node's lease was granted: write its endpoints now. */
  onGranted: (nodeId: string, leaseId: string) => void;
  /** etcd no longer knows the node's lease: its endpoints are gone from etcd. */
  onLost: (nodeId: string, leaseId: string) => void;
}

export class NodeLeases {
  private readonly byNode = new Map<string, NodeLease>();
  private readonly byLease = new Map<string, NodeLease>();
  private readonly grantQueue: NodeLease[] = [];
  private grantsInFlight = 0;
  private grantRetryMs = GRANT_RETRY_MIN_MS;
  private grantTimer: NodeJS.Timeout | undefined;
  private stream: KeepAliveStream | undefined;
  private opening = false;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly ttl: number;
  private readonly log: (line: string) => void;

  constructor(
    private readonly store: LeaseStore,
    private readonly opts: NodeLeasesOptions,
  ) {
    this.ttl = opts.ttlSeconds ?? ENDPOINT_LEASE_TTL_S;
    this.log = opts.log ?? (() => {});
  }

  start(): void {
    const period = this.opts.keepAliveMs ?? LEASE_KEEPALIVE_MS;
    this.timer = setInterval(() => this.renewAll(), period);
    this.timer.unref();
    void this.openStream();
  }

  /** Stops renewing (leases then expire by themselves). Nothing is revoked. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.grantTimer) clearTimeout(this.grantTimer);
    this.stream?.close();
    this.stream = undefined;
    this.byNode.clear();
    this.byLease.clear();
    this.grantQueue.length = 0;
  }

  /** The node's lease id once granted; asks for one when the node has none. */
  leaseOf(nodeId: string): string | undefined {
    const l = this.byNode.get(nodeId);
    if (l) return l.id;
    if (this.closed) return undefined;
    const lease: NodeLease = { nodeId };
    this.byNode.set(nodeId, lease);
    this.grantQueue.push(lease);
    this.pumpGrants();
    return undefined;
  }

  /** The node's lease if granted, without asking for one. */
  peek(nodeId: string): string | undefined {
    return this.byNode.get(nodeId)?.id;
  }

  /**
   * Forgets the node's lease (no more renewals) and returns its id for the caller to
   * revoke. A grant still in flight is revoked by itself when it arrives.
   */
  release(nodeId: string): string | undefined {
    const l = this.byNode.get(nodeId);
    if (!l) return undefined;
    this.byNode.delete(nodeId);
    if (l.id) this.byLease.delete(l.id);
    return l.id;
  }

  get size(): number {
    return this.byNode.size;
  }

  /** A put bound to this lease was refused (etcd does not know it): same as a lost lease. */
  lost(leaseId: string): void {
    const l = this.byLease.get(leaseId);
    if (!l || this.byNode.get(l.nodeId) !== l) return;
    this.byLease.delete(leaseId);
    this.byNode.delete(l.nodeId);
    this.log(`endpoints: lease ${leaseId} of node ${l.nodeId} is gone from etcd; taking a new one`);
    this.opts.onLost(l.nodeId, leaseId);
  }

  // ------------------------------------------------------------ granting

  private pumpGrants(): void {
    while (
      !this.closed &&
      !this.grantTimer &&
      this.grantsInFlight < MAX_GRANTS_IN_FLIGHT &&
      this.grantQueue.length > 0
    ) {
      const lease = this.grantQueue.shift()!;
      if (this.byNode.get(lease.nodeId) !== lease) continue; // released meanwhile
      this.grantsInFlight++;
      void this.grant(lease);
    }
  }

  private async grant(lease: NodeLease): Promise<void> {
    let id: string | undefined;
    try {
      id = await this.store.grantLease(this.ttl);
      this.grantRetryMs = GRANT_RETRY_MIN_MS;
    } catch (err) {
      this.log(`endpoints: ${(err as Error).message} (retrying)`);
    }
    this.grantsInFlight--;
    if (id === undefined) {
      if (!this.closed && this.byNode.get(lease.nodeId) === lease) this.grantQueue.push(lease);
      this.retryGrantsLater();
      return;
    }
    if (this.closed || this.byNode.get(lease.nodeId) !== lease) {
      // The node went away (or this term ended) while we waited: nothing is bound to it yet.
      void this.store.revokeLease(id).catch(() => {});
    } else {
      lease.id = id;
      this.byLease.set(id, lease);
      this.opts.onGranted(lease.nodeId, id);
    }
    this.pumpGrants();
  }

  private retryGrantsLater(): void {
    if (this.grantTimer || this.closed) return;
    const delay = this.grantRetryMs;
    this.grantRetryMs = Math.min(this.grantRetryMs * 2, GRANT_RETRY_MAX_MS);
    this.grantTimer = setTimeout(() => {
      this.grantTimer = undefined;
      this.pumpGrants();
    }, delay);
    this.grantTimer.unref();
  }

  // ------------------------------------------------------------ renewing

  /** Sends every granted lease's id on the one keepalive stream (opening it when needed). */
  private renewAll(): void {
    if (this.closed) return;
    const stream = this.stream;
    if (!stream) {
      void this.openStream();
      return;
    }
    for (const id of this.byLease.keys()) stream.send(id);
  }

  private async openStream(): Promise<void> {
    if (this.opening || this.closed) return;
    this.opening = true;
    try {
      const stream = await this.store.openKeepAlive(
        (leaseId) => this.lost(leaseId),
        (err) => {
          if (this.stream === stream) this.stream = undefined;
          if (!this.closed) this.log(`endpoints: lease keepalive stream: ${err.message} (reopening)`);
        },
      );
      if (this.closed) {
        stream.close();
        return;
      }
      this.stream = stream;
      for (const id of this.byLease.keys()) stream.send(id);
    } catch (err) {
      this.log(`endpoints: ${(err as Error).message} (retrying)`);
    } finally {
      this.opening = false;
    }
  }
}
