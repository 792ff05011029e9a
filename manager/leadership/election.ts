// Leader election on an etcd lease. Every manager keeps a lease (TTL 2 s, renewed every
// 500 ms from a worker thread, lease-keeper.ts, so a busy event loop cannot starve it)
// and registers itself under /shoal/v1/managers/<id>; the first to create
// /shoal/v1/leader with its lease leads. A crashed leader's lease expires and the key
// with it; a leader that resigns deletes it at once. A leader that cannot renew its lease
// for a whole TTL steps down by itself: it cannot know it still leads.
import { setTimeout as sleep } from 'node:timers/promises';
import { EventEmitter } from 'node:events';
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { EtcdTls } from '../config/connections.js';
import type { ICompare } from 'etcd3/lib/rpc.js';
import type { ManagerInfo } from '../../proto/gen/shoal.js';
import { ROOT } from '../store/keys.js';
import { LeaseKeeper } from './lease-keeper.js';

export const LEADER_KEY = `${ROOT}leader`;
export const MANAGERS_PREFIX = `${ROOT}managers/`;
/** Lease TTL: a crashed leader is replaced about this long after it died. */
export const LEASE_TTL_S = 2;
const RETRY_MS = 250;

/** The lease's timing, all derived from its TTL (the defaults: 2 s, 500 ms, 600 ms, 4 s). */
export function leaseTiming(ttlS: number): { renewMs: number; deadlineMs: number; stepDownAfterMs: number } {
  return {
    /** Renewal period: four tries per TTL, each with its own short deadline. */
    renewMs: ttlS * 250,
    deadlineMs: ttlS * 300,
    /**
     * A leader that could not renew its lease for this long steps down (and lets its agents
     * go). Longer than the TTL on purpose: when etcd's own leader changes, the new one
     * extends every lease, so a few seconds of failed renewals usually mean nothing. It
     * stays below a new leader's reconnect grace (TTL + 5 s), so agents have left a deposed
     * leader before a new one could mark their nodes down. Writes are fenced by the lease
     * all along.
     */
    stepDownAfterMs: ttlS * 2_000,
  };
}

export interface ManagerIdentity {
  id: string;
  address: string;
  startedAtMs: number;
}

type Role = 'follower' | 'leader' | 'stopped';

export interface ElectionEvents {
  elected: [];
  deposed: [reason: string];
  leaderChanged: [leader: ManagerIdentity | undefined];
}

export class Election extends EventEmitter<ElectionEvents> {
  private role: Role = 'follower';
  private lease: Lease | undefined;
  private leaseId = '';
  private watcher: Watcher | undefined;
  private campaigning = false;
  private closing: Promise<void> | undefined;
  /** Renews the lease off the main event loop (lease-keeper.ts). */
  private readonly keeper: LeaseKeeper;
  leader: ManagerIdentity | undefined;

  /**
   * `keeperEtcd`: etcd's client URLs and TLS, for the lease keeper's own connection. `leaseTtlS`:
   * LEASE_TTL_S; a test of real-time behaviour on a loaded machine may give a longer one.
   */
  constructor(
    private readonly etcd: Etcd3,
    readonly self: ManagerIdentity,
    keeperEtcd: { endpoints: string[]; tls?: EtcdTls },
    private readonly log: (line: string) => void = () => {},
    private readonly leaseTtlS = LEASE_TTL_S,
  ) {
    super();
    this.keeper = new LeaseKeeper({ ...keeperEtcd, ...leaseTiming(leaseTtlS) }, (leaseId, reason) => {
      if (this.role !== 'stopped' && (leaseId === '' || leaseId === this.leaseId)) this.lostLease(reason);
    });
  }

  get isLeader(): boolean {
    return this.role === 'leader';
  }

  /** The compare a leader's write transactions carry (fencing). */
  guard(): ICompare {
    return { key: Buffer.from(LEADER_KEY), target: 'Lease', result: 'Equal', lease: this.leaseId };
  }

  async start(): Promise<void> {
    await this.watchLeader();
    void this.campaign();
  }

  /** Resigns (the lease is revoked: another manager can lead at once); idempotent. */
  close(): Promise<void> {
    this.closing ??= this.resign();
    return this.closing;
  }

  private async resign(): Promise<void> {
    const wasLeader = this.role === 'leader';
    this.role = 'stopped';
    await this.keeper.close();
    await this.watcher?.cancel().catch(() => {});
    if (this.lease) {
      // Revoking deletes our keys (leader and registration) at once: a fast hand-over.
      await this.lease.revoke({ deadline: Date.now() + 1_000 }).catch(() => {});
      if (wasLeader) this.log('resigned leadership');
    }
  }

  async managers(): Promise<ManagerInfo[]> {
    const res = await this.etcd.getAll().prefix(MANAGERS_PREFIX).exec();
    return res.kvs
      .map((kv) => JSON.parse(kv.value.toString()) as ManagerIdentity)
      .map((m) => ({ id: m.id, address: m.address, leader: m.id === this.leader?.id, startedAtMs: m.startedAtMs }))
      .sort((a, b) => a.address.localeCompare(b.address));
  }

  // ------------------------------------------------------------ campaign

  private async campaign(): Promise<void> {
    if (this.campaigning || this.role !== 'follower') return;
    this.campaigning = true;
    try {
      while (this.role === 'follower') {
        try {
          if (!this.leaseId) await this.grantLease();
          const res = await this.etcd.kv.txn({
            compare: [{ key: Buffer.from(LEADER_KEY), target: 'Create', result: 'Equal', create_revision: 0 }],
            success: [
              {
                request_put: {
                  key: Buffer.from(LEADER_KEY),
                  value: Buffer.from(JSON.stringify(this.self)),
                  lease: this.leaseId,
                },
              },
            ],
            failure: [{ request_range: { key: Buffer.from(LEADER_KEY) } }],
          });
          if (res.succeeded) {
            this.role = 'leader';
            this.setLeader(this.self);
            this.log(`elected leader (lease ${this.leaseId})`);
            this.emit('elected');
            return;
          }
          const kv = res.responses[0]?.response_range?.kvs[0];
          if (kv) {
            const holder = JSON.parse(kv.value.toString()) as ManagerIdentity;
            if (holder.id === this.self.id && String(kv.lease) === this.leaseId) {
              // An earlier attempt of ours went through (its answer was lost).
              this.role = 'leader';
              this.setLeader(this.self);
              this.emit('elected');
              return;
            }
            this.setLeader(holder);
            return; // wait for the key to go (watch), then try again
          }
        } catch (err) {
          this.log(`election: ${(err as Error).message} (retrying)`);
          this.keeper.stop();
          this.lease?.release();
          this.lease = undefined;
          this.leaseId = '';
        }
        await sleep(RETRY_MS);
      }
    } finally {
      this.campaigning = false;
    }
  }

  private async grantLease(): Promise<void> {
    const lease = this.etcd.lease(this.leaseTtlS, { autoKeepAlive: false });
    lease.on('lost', () => {}); // the lease keeper reports a lost lease
    this.leaseId = await lease.grant();
    this.lease = lease;
    await this.etcd.kv.put({
      key: Buffer.from(MANAGERS_PREFIX + this.self.id),
      value: Buffer.from(JSON.stringify(this.self)),
      lease: this.leaseId,
    });
    this.keeper.keep(this.leaseId);
  }

  private lostLease(reason: string): void {
    this.keeper.stop();
    this.lease?.release();
    this.lease = undefined;
    this.leaseId = '';
    if (this.role === 'leader') {
      this.role = 'follower';
      this.setLeader(undefined);
      this.log(`stepping down: ${reason}`);
      this.emit('deposed', reason);
    }
    if (this.role === 'follower') setTimeout(() => void this.campaign(), RETRY_MS);
  }

  /** Called by the manager when a guarded write was refused. */
  fenced(reason: string): void {
    if (this.role !== 'leader') return;
    this.role = 'follower';
    this.log(`stepping down: ${reason}`);
    this.emit('deposed', reason);
    void this.campaign();
  }

  // ------------------------------------------------------------ watching the leader key

  private async watchLeader(): Promise<void> {
    const watcher = await this.etcd.watch().key(LEADER_KEY).create();
    this.watcher = watcher;
    watcher.on('put', (kv) => {
      const leader = JSON.parse(kv.value.toString()) as ManagerIdentity;
      this.setLeader(leader);
      if (leader.id !== this.self.id && this.role === 'leader') this.fenced('another manager holds the leader key');
    });
    watcher.on('delete', () => {
      this.setLeader(undefined);
      if (this.role === 'leader') this.fenced('the leader key was deleted');
      else void this.campaign();
    });
    watcher.on('error', (err) => this.log(`election watch: ${err.message}`));
  }

  private setLeader(leader: ManagerIdentity | undefined): void {
    if (leader?.id === this.leader?.id) return;
    this.leader = leader;
    this.emit('leaderChanged', leader);
  }
}
