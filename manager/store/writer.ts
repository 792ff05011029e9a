// Write-behind queue: coalesces the latest value per key and commits them in
// transactions of at most MAX_OPS_PER_TXN, retrying while the store is unavailable.
// `sync()` resolves once everything enqueued before it is durable. A put may be bound to
// an etcd lease (endpoints); a transaction refused because one of its leases is gone is
// split by lease, the ops of the gone lease become deletes and `onLeaseLost` says so.
//
// Two lanes, each its own queue and flush loop: tasks and endpoints (the bulk: up to
// hundreds of thousands in flight while a large service is placed) and everything else
// (services, nodes, networks, leases: what the Control API writes and waits for).
// `syncDesired()` waits for the second lane only, so `service create` returns once its
// service is durable instead of after every task write queued before it (2.8 s per
// create while 100,000 tasks were being placed, in the placement benchmark).
//
// A transaction also stays under MAX_TXN_BYTES (etcd refuses large requests). An op the
// store refuses for good (WriteRefusedError: too large, invalid) is never retried: its
// transaction is split until the op is alone, the op is dropped with a one-line report
// (`onDropped`), `refusal(kind, id)` tells whoever waited for it why, and every other
// write goes on.
import type { KeySpace } from './keys.js';
import { key } from './keys.js';
import type { Store, WriteOp } from './store.js';
import { LeaseNotFoundError, MAX_OPS_PER_TXN, MAX_TXN_BYTES, NotLeaderError, WriteRefusedError } from './store.js';

const RETRY_MIN_MS = 100; // first retry after a failed commit
const RETRY_MAX_MS = 2_000; // cap while etcd stays away
/**
 * Per lane. etcd pipelines these well; the commit latency the writer sees is mostly the
 * leader's own busy event loop (250 ms a commit while 100,000 tasks were placed), so 4
 * kept the durable rate at ~3,500 tasks/s; 8 gave ~4,900/s in the same benchmark.
 */
export const MAX_TXNS_IN_FLIGHT = 8;

/** A queued op; a put's value may be a function, encoded only if it is still the latest at flush. */
type Queued = Omit<WriteOp, 'value'> & { value?: string | (() => string) };

interface Waiter {
  seq: number;
  resolve: () => void;
}

/** Refusals remembered for `refusal()`; the oldest is forgotten first. */
const MAX_REFUSALS = 1_000;

/** Key spaces of the bulk lane: written per task, many at a time. */
const BULK: ReadonlySet<KeySpace> = new Set<KeySpace>(['tasks', 'endpoints']);

export class Writer {
  private readonly bulk: Lane;
  private readonly desired: Lane;
  private closed = false;
  onError: (err: Error) => void = () => {};
  /** A guarded commit was refused: another manager leads. The writer stops. */
  onFenced: (err: Error) => void = () => {};
  /** A put was refused because etcd no longer knows its lease (it expired or was revoked). */
  onLeaseLost: (lease: string) => void = () => {};
  /** An op the store refused for good was dropped (one line; default: stderr). */
  onDropped: (line: string) => void = (line) => void process.stderr.write(`${line}\n`);
  private readonly refusals = new Map<string, WriteRefusedError>();

  constructor(store: Store) {
    this.bulk = new Lane(store, this);
    this.desired = new Lane(store, this);
  }

  /**
   * Queues a put; with `lease`, the key is bound to that etcd lease. `value` may be a
   * function: it is called at commit time, only for the latest put of the key (a task
   * written several times in one tick, e.g. created then assigned, is encoded once).
   */
  put(kind: KeySpace, id: string, value: string | (() => string), lease?: string): void {
    this.refusals.delete(`${kind}/${id}`);
    this.lane(kind).enqueue(lease === undefined ? { kind, id, value } : { kind, id, value, lease });
  }

  delete(kind: KeySpace, id: string): void {
    this.refusals.delete(`${kind}/${id}`);
    this.lane(kind).enqueue({ kind, id });
  }

  /**
   * The lease is about to be revoked: every queued put bound to it becomes a delete (so
   * no commit refers to it after the revoke). Puts already in flight are not touched:
   * revoke after `sync()`. O(queued writes).
   */
  withdrawLease(lease: string): void {
    this.bulk.withdrawLease(lease);
    this.desired.withdrawLease(lease);
  }

  get backlog(): number {
    return this.bulk.backlog + this.desired.backlog;
  }

  /** Resolves when every write enqueued so far has been committed. */
  sync(): Promise<void> {
    return Promise.all([this.bulk.sync(), this.desired.sync()]).then(() => {});
  }

  /**
   * Resolves when every write enqueued so far to services, nodes, networks and leases has
   * been committed (tasks and endpoints may still be queued): what the Control API
   * promises a user before it answers.
   */
  syncDesired(): Promise<void> {
    return this.desired.sync();
  }

  /** Stops committing (what is still queued is dropped: sync() first to keep it); idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.desired.close();
    await this.bulk.close();
  }

  /**
   * Why the last write of this key was dropped (the store refused it for good), or
   * undefined: it was stored, is still queued, or was written again since. Check it after
   * `sync()` to tell a caller that its write did not happen.
   */
  refusal(kind: KeySpace, id: string): WriteRefusedError | undefined {
    return this.refusals.get(`${kind}/${id}`);
  }

  /** Called by a lane that dropped an op the store refused for good. */
  dropped(op: WriteOp, err: Error): void {
    const k = `${op.kind}/${op.id}`;
    const bytes = op.value === undefined ? 0 : Buffer.byteLength(op.value);
    const refusal = new WriteRefusedError(`the store refused ${k} (${bytes} bytes): ${err.message}`, { cause: err });
    this.refusals.delete(k);
    this.refusals.set(k, refusal);
    if (this.refusals.size > MAX_REFUSALS) this.refusals.delete(this.refusals.keys().next().value!);
    this.onDropped(`store: dropped a write: ${refusal.message}`);
  }

  /** Called by a lane whose commit was refused by the guard: both lanes stop. */
  fenced(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    void this.bulk.close();
    void this.desired.close();
    this.onFenced(err);
  }

  private lane(kind: KeySpace): Lane {
    return BULK.has(kind) ? this.bulk : this.desired;
  }
}

class Lane {
  private pending = new Map<string, Queued>();
  private seq = 0; // bumped per enqueue
  private durableSeq = 0; // everything <= this is committed
  private waiters: Waiter[] = [];
  private flushing = false;
  private retryMs = RETRY_MIN_MS;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: Store,
    private readonly owner: Writer,
  ) {}

  withdrawLease(lease: string): void {
    for (const [k, op] of this.pending) {
      if (op.lease === lease) this.pending.set(k, { kind: op.kind, id: op.id });
    }
  }

  get backlog(): number {
    return this.pending.size;
  }

  sync(): Promise<void> {
    if (this.pending.size === 0 && !this.flushing) return Promise.resolve();
    const seq = this.seq;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  enqueue(op: Queued): void {
    this.pending.set(`${op.kind}/${op.id}`, op);
    this.seq++;
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (this.flushing || this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delayMs);
  }

  private async flush(): Promise<void> {
    if (this.flushing || this.closed) return;
    this.flushing = true;
    const batch = this.pending;
    const batchSeq = this.seq;
    this.pending = new Map();
    const ops = [...batch.values()];
    const chunks: Queued[][] = [];
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_TXN) chunks.push(ops.slice(i, i + MAX_OPS_PER_TXN));
    const failed: WriteOp[] = [];
    let lastError: Error | undefined;
    // A sliding window of MAX_TXNS_IN_FLIGHT commits: the next starts as soon as one ends
    // (was: groups of 4 in lock step, each waiting for its slowest).
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < chunks.length) {
        // Encoded per transaction, just before it is sent: a large flush does not hold the
        // event loop for all of its values at once.
        const chunk = chunks[next++]!.map(materialize);
        for (const part of splitByBytes(chunk)) {
          const left = await this.commitIsolating(part);
          if (left.ops.length > 0) {
            failed.push(...left.ops);
            lastError = left.error;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(MAX_TXNS_IN_FLIGHT, chunks.length) }, lane));
    this.flushing = false;
    if (lastError instanceof NotLeaderError) {
      this.owner.fenced(lastError);
      return;
    }
    if (failed.length > 0) {
      // Put back what failed unless a newer value for that key arrived meanwhile.
      for (const op of failed) {
        const k = `${op.kind}/${op.id}`;
        if (!this.pending.has(k)) this.pending.set(k, op);
      }
      this.owner.onError(lastError!);
      this.schedule(this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, RETRY_MAX_MS);
      return;
    }
    this.retryMs = RETRY_MIN_MS;
    this.durableSeq = batchSeq;
    this.waiters = this.waiters.filter((w) => {
      if (w.seq <= this.durableSeq) {
        w.resolve();
        return false;
      }
      return true;
    });
    if (this.pending.size > 0) this.schedule(0);
  }

  /**
   * Commits `ops`; a transaction refused for good is halved until each refused op is alone,
   * and that op is dropped (reported to the owner). Returns what failed for the ordinary
   * retry (the store unavailable), with the error.
   */
  private async commitIsolating(ops: WriteOp[]): Promise<{ ops: WriteOp[]; error?: Error }> {
    try {
      await this.store.commit(ops);
      return { ops: [] };
    } catch (err) {
      if (err instanceof LeaseNotFoundError) return this.commitByLease(ops);
      if (!(err instanceof WriteRefusedError)) return { ops, error: err as Error };
      if (ops.length === 1) {
        this.owner.dropped(ops[0]!, err);
        return { ops: [] };
      }
      const half = Math.ceil(ops.length / 2);
      const a = await this.commitIsolating(ops.slice(0, half));
      const b = await this.commitIsolating(ops.slice(half));
      return { ops: [...a.ops, ...b.ops], error: b.error ?? a.error };
    }
  }

  /**
   * A transaction named a lease etcd does not know. Commits its ops again grouped by
   * lease; a group whose lease is gone is committed as deletes (its keys went with the
   * lease) and reported. Returns what still failed, for the ordinary retry.
   */
  private async commitByLease(ops: WriteOp[]): Promise<{ ops: WriteOp[]; error?: Error }> {
    const groups = new Map<string, WriteOp[]>();
    for (const op of ops) {
      const g = op.lease ?? '';
      let list = groups.get(g);
      if (!list) groups.set(g, (list = []));
      list.push(op);
    }
    const left: WriteOp[] = [];
    let error: Error | undefined;
    for (const [lease, group] of groups) {
      try {
        await this.store.commit(group);
      } catch (err) {
        if (err instanceof LeaseNotFoundError && lease !== '') {
          this.owner.onLeaseLost(lease);
          const deletes = group.map((op) => ({ kind: op.kind, id: op.id }));
          try {
            await this.store.commit(deletes);
          } catch (err2) {
            left.push(...deletes);
            error = err2 as Error;
          }
          continue;
        }
        if (err instanceof WriteRefusedError) {
          const r = await this.commitIsolating(group);
          left.push(...r.ops);
          error = r.error ?? error;
          continue;
        }
        left.push(...group);
        error = err as Error;
      }
    }
    return { ops: left, error };
  }
}

/** Consecutive parts of `ops`, each under MAX_TXN_BYTES of keys and values (an op larger alone is a part alone). */
export function splitByBytes(ops: WriteOp[], max = MAX_TXN_BYTES): WriteOp[][] {
  const parts: WriteOp[][] = [];
  let part: WriteOp[] = [];
  let bytes = 0;
  for (const op of ops) {
    const n = key(op.kind, op.id).length + (op.value === undefined ? 0 : Buffer.byteLength(op.value));
    if (part.length > 0 && bytes + n > max) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(op);
    bytes += n;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}

function materialize(q: Queued): WriteOp {
  return typeof q.value === 'function' ? { ...q, value: q.value() } : (q as WriteOp);
}
