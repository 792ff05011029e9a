// In-memory Store for unit tests: same semantics as the etcd one, no process needed.
// Like etcd it keeps a revision per commit, a mod revision per key, leases that delete
// their keys when revoked or expired, and watches over key ranges (with history, so a
// watch can start from an earlier revision).
import type { ChangeSource, KeepAliveStream, KeyChange, LeaseStore, Snapshot, Store, WriteOp } from './store.js';
import {
  ETCD_MAX_REQUEST_BYTES,
  LeaseNotFoundError,
  MAX_OPS_PER_TXN,
  StoreUnavailableError,
  WriteRefusedError,
  emptySnapshot,
} from './store.js';
import { key, parseKey } from './keys.js';
import { addToSnapshot } from './codec.js';

/** Changes kept for watches that start in the past; older ones count as compacted. */
const HISTORY_LIMIT = 20_000;

interface RangeWatch {
  from: string;
  to: string;
  onChanges: (changes: KeyChange[], revision: number) => void;
  onReset: (err: Error) => void;
  /** Deliveries go out in order, each in its own macrotask (as from a real stream). */
  queue: { changes: KeyChange[]; revision: number }[];
  scheduled: boolean;
  cancelled: boolean;
}

export class MemoryStore implements Store, ChangeSource, LeaseStore {
  readonly data = new Map<string, string>();
  /** Each key's last mod revision. */
  readonly modRevisions = new Map<string, number>();
  /** Keys bound to a lease, per lease id. */
  readonly leases = new Map<string, Set<string>>();
  /** How often each lease was renewed through a keepalive stream. */
  readonly keepalives = new Map<string, number>();
  revision = 0;
  commits = 0;
  /** Set to make commits fail, as when etcd is unreachable. */
  unavailable = false;
  /** Like etcd's --max-request-bytes: a larger transaction is refused for good. */
  maxRequestBytes = ETCD_MAX_REQUEST_BYTES;
  private readonly keyLease = new Map<string, string>();
  private readonly history: KeyChange[] = [];
  private compactedAt = 0;
  private nextLease = 1;
  private readonly watches = new Set<RangeWatch>();
  private readonly breakKeepAlives = new Set<(err: Error) => void>();

  async load(): Promise<Snapshot> {
    const snap: Snapshot = emptySnapshot(this.revision);
    for (const [k, v] of this.data) {
      const parsed = parseKey(k);
      if (parsed) addToSnapshot(snap, parsed.kind, v);
    }
    return snap;
  }

  async commit(ops: WriteOp[]): Promise<void> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    if (ops.length > MAX_OPS_PER_TXN) throw new Error(`too many operations in one transaction: ${ops.length}`);
    let bytes = 0;
    for (const op of ops)
      bytes += key(op.kind, op.id).length + (op.value === undefined ? 0 : Buffer.byteLength(op.value));
    if (bytes > this.maxRequestBytes)
      throw new WriteRefusedError(`etcd refused the write: etcdserver: request is too large (${bytes} bytes)`);
    for (const op of ops) {
      if (op.value !== undefined && op.lease !== undefined && !this.leases.has(op.lease)) {
        throw new LeaseNotFoundError(`cannot write to etcd: requested lease not found (${op.lease})`);
      }
    }
    const rev = this.revision + 1;
    const changes: KeyChange[] = [];
    for (const op of ops) {
      const k = key(op.kind, op.id);
      if (op.value === undefined) {
        if (this.remove(k)) changes.push({ key: k, revision: rev });
      } else {
        this.unbind(k);
        this.data.set(k, op.value);
        this.modRevisions.set(k, rev);
        if (op.lease !== undefined) {
          this.keyLease.set(k, op.lease);
          this.leases.get(op.lease)!.add(k);
        }
        changes.push({ key: k, value: op.value, revision: rev });
      }
    }
    this.revision = rev;
    this.commits++;
    this.publish(changes, rev);
  }

  // ------------------------------------------------------------ leases

  async grantLease(_ttlSeconds: number): Promise<string> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    const id = String(this.nextLease++);
    this.leases.set(id, new Set());
    return id;
  }

  async revokeLease(id: string): Promise<void> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    this.expireLease(id);
  }

  /** What etcd does when a lease's TTL passes without a renewal (also: revoke). */
  expireLease(id: string): void {
    const keys = this.leases.get(id);
    if (!keys) return;
    this.leases.delete(id);
    if (keys.size === 0) return;
    const rev = ++this.revision;
    const changes: KeyChange[] = [];
    for (const k of keys) {
      this.keyLease.delete(k);
      this.data.delete(k);
      this.modRevisions.delete(k);
      changes.push({ key: k, revision: rev });
    }
    this.publish(changes, rev);
  }

  /** The keys bound to a lease (empty for an unknown one). */
  keysOfLease(id: string): string[] {
    return [...(this.leases.get(id) ?? [])];
  }

  async openKeepAlive(onLost: (id: string) => void, onEnd: (err: Error) => void): Promise<KeepAliveStream> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    let open = true;
    this.breakKeepAlives.add((err) => {
      if (open) onEnd(err);
      open = false;
    });
    return {
      send: (id) => {
        if (!open) return;
        if (this.leases.has(id)) this.keepalives.set(id, (this.keepalives.get(id) ?? 0) + 1);
        else setImmediate(() => open && onLost(id));
      },
      close: () => {
        open = false;
      },
    };
  }

  /** Ends every open keepalive stream with an error (as when the etcd member dies). */
  breakKeepAliveStreams(err = new Error('keepalive stream broke')): void {
    const fns = [...this.breakKeepAlives];
    this.breakKeepAlives.clear();
    for (const f of fns) f(err);
  }

  // ------------------------------------------------------------ ranges and watches

  async range(from: string, to: string): Promise<{ revision: number; kvs: KeyChange[] }> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    const kvs: KeyChange[] = [];
    for (const [k, v] of this.data)
      if (k >= from && k < to) kvs.push({ key: k, value: v, revision: this.modRevisions.get(k) ?? 0 });
    kvs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return { revision: this.revision, kvs };
  }

  async watchRange(
    from: string,
    to: string,
    afterRevision: number,
    onChanges: (changes: KeyChange[], revision: number) => void,
    onReset: (err: Error) => void,
  ): Promise<() => Promise<void>> {
    if (this.unavailable) throw new StoreUnavailableError('memory store marked unavailable');
    if (afterRevision < this.compactedAt) throw new Error(`required revision ${afterRevision + 1} has been compacted`);
    const w: RangeWatch = { from, to, onChanges, onReset, queue: [], scheduled: false, cancelled: false };
    // Replay what happened after `afterRevision`, grouped by revision.
    let batch: KeyChange[] = [];
    for (const c of this.history) {
      if (c.revision <= afterRevision || c.key < from || c.key >= to) continue;
      if (batch.length > 0 && batch[0]!.revision !== c.revision) {
        this.enqueue(w, batch, batch[0]!.revision);
        batch = [];
      }
      batch.push(c);
    }
    if (batch.length > 0) this.enqueue(w, batch, batch[0]!.revision);
    this.watches.add(w);
    return async () => {
      w.cancelled = true;
      this.watches.delete(w);
    };
  }

  /** Forgets history up to now and cancels every watch, as an etcd compaction would. */
  compactAndCancelWatches(): void {
    this.history.length = 0;
    this.compactedAt = this.revision;
    for (const w of [...this.watches]) {
      this.watches.delete(w);
      w.cancelled = true;
      setImmediate(() => w.onReset(new Error('watch cancelled: revision compacted')));
    }
  }

  async close(): Promise<void> {
    for (const w of this.watches) w.cancelled = true;
    this.watches.clear();
  }

  // ------------------------------------------------------------ internals

  private remove(k: string): boolean {
    if (!this.data.has(k)) return false;
    this.unbind(k);
    this.data.delete(k);
    this.modRevisions.delete(k);
    return true;
  }

  private unbind(k: string): void {
    const lease = this.keyLease.get(k);
    if (lease === undefined) return;
    this.keyLease.delete(k);
    this.leases.get(lease)?.delete(k);
  }

  private publish(changes: KeyChange[], revision: number): void {
    if (changes.length === 0) return;
    for (const c of changes) this.history.push(c);
    if (this.history.length > HISTORY_LIMIT) {
      const dropped = this.history.splice(0, this.history.length - HISTORY_LIMIT / 2);
      this.compactedAt = dropped[dropped.length - 1]!.revision;
    }
    for (const w of this.watches) {
      const mine = changes.filter((c) => c.key >= w.from && c.key < w.to);
      if (mine.length > 0) this.enqueue(w, mine, revision);
    }
  }

  private enqueue(w: RangeWatch, changes: KeyChange[], revision: number): void {
    w.queue.push({ changes, revision });
    if (w.scheduled) return;
    w.scheduled = true;
    setImmediate(() => {
      w.scheduled = false;
      const queue = w.queue.splice(0);
      for (const q of queue) if (!w.cancelled) w.onChanges(q.changes, q.revision);
    });
  }
}
