// Write-behind queue: coalesces the latest value per key and commits them in
// transactions of at most MAX_OPS_PER_TXN, retrying while the store is unavailable.
// `sync()` resolves once everything enqueued before it is durable.
import type { Kind } from './keys.js';
import type { Store, WriteOp } from './store.js';
import { MAX_OPS_PER_TXN, NotLeaderError } from './store.js';

const RETRY_MIN_MS = 100; // first retry after a failed commit
const RETRY_MAX_MS = 2_000; // cap while etcd stays away
const MAX_TXNS_IN_FLIGHT = 4; // etcd pipelines these well; more only adds latency

interface Waiter {
  seq: number;
  resolve: () => void;
}

export class Writer {
  private pending = new Map<string, WriteOp>();
  private seq = 0; // bumped per enqueue
  private durableSeq = 0; // everything <= this is committed
  private waiters: Waiter[] = [];
  private flushing = false;
  private retryMs = RETRY_MIN_MS;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  onError: (err: Error) => void = () => {};
  /** A guarded commit was refused: another manager leads. The writer stops. */
  onFenced: (err: Error) => void = () => {};

  constructor(private readonly store: Store) {}

  put(kind: Kind, id: string, value: string): void {
    this.enqueue({ kind, id, value });
  }

  delete(kind: Kind, id: string): void {
    this.enqueue({ kind, id });
  }

  get backlog(): number {
    return this.pending.size;
  }

  /** Resolves when every write enqueued so far has been committed. */
  sync(): Promise<void> {
    if (this.pending.size === 0 && !this.flushing) return Promise.resolve();
    const seq = this.seq;
    return new Promise((resolve) => this.waiters.push({ seq, resolve }));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private enqueue(op: WriteOp): void {
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
    const chunks: WriteOp[][] = [];
    for (let i = 0; i < ops.length; i += MAX_OPS_PER_TXN) chunks.push(ops.slice(i, i + MAX_OPS_PER_TXN));
    const failed: WriteOp[] = [];
    let lastError: Error | undefined;
    for (let i = 0; i < chunks.length; i += MAX_TXNS_IN_FLIGHT) {
      const group = chunks.slice(i, i + MAX_TXNS_IN_FLIGHT);
      const results = await Promise.allSettled(group.map((c) => this.store.commit(c)));
      results.forEach((r, j) => {
        if (r.status === 'rejected') {
          failed.push(...group[j]!);
          lastError = r.reason as Error;
        }
      });
    }
    this.flushing = false;
    if (lastError instanceof NotLeaderError) {
      this.closed = true;
      this.onFenced(lastError);
      return;
    }
    if (failed.length > 0) {
      // Put back what failed unless a newer value for that key arrived meanwhile.
      for (const op of failed) {
        const k = `${op.kind}/${op.id}`;
        if (!this.pending.has(k)) this.pending.set(k, op);
      }
      this.onError(lastError!);
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
}
