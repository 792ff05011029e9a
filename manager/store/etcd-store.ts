// The etcd adapter: every etcd call and error conversion of the desired state lives here.
import { Etcd3, GRPCDeadlineExceededError, isRecoverableError, type Watcher } from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleAll, handleWhen, retry } from 'cockatiel';
import type { ICompare } from 'etcd3/lib/rpc.js';
import type { Snapshot, Store, WriteOp } from './store.js';
import { MAX_OPS_PER_TXN, NotLeaderError, StoreUnavailableError, emptySnapshot } from './store.js';
import { ROOT, key, parseKey } from './keys.js';
import { addToSnapshot } from './codec.js';
import type { Kind } from './keys.js';

const DIAL_TIMEOUT_MS = 2_000;
/**
 * A member that failed a call (any error, time-outs included) is skipped for this long, so
 * losing one member of three costs one failed call, not a stream of calls that wait on it.
 */
const SKIP_FAILED_MEMBER_MS = 1_000;
/**
 * Every call has a deadline: a call sent to a member that just died can otherwise wait
 * for its channel for seconds. A call that hits it is retried on another member (our
 * writes are whole-value puts and deletes, so a retry of one that did apply is harmless).
 */
const CALL_DEADLINE_MS = 1_500;
const LOAD_DEADLINE_MS = 30_000;

export interface RemoteChange {
  kind: Kind;
  id: string;
  value?: string; // undefined: deleted
}

export class EtcdStore implements Store {
  private readonly client: Etcd3;
  /** Compared in every write transaction: only the current leader's writes apply. */
  private guard: ICompare | undefined;

  constructor(endpoints: string[]) {
    this.client = new Etcd3({
      hosts: endpoints,
      dialTimeout: DIAL_TIMEOUT_MS,
      // Per attempt (a retry gets a fresh deadline); streams (watch, keepalive) have none.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: {
        host: () => circuitBreaker(handleAll, { halfOpenAfter: SKIP_FAILED_MEMBER_MS, breaker: new ConsecutiveBreaker(1) }),
        global: retry(
          handleWhen((err) => isRecoverableError(err) || err instanceof GRPCDeadlineExceededError),
          { maxAttempts: 3 },
        ),
      },
    });
  }

  get etcd(): Etcd3 {
    return this.client;
  }

  setGuard(guard: ICompare | undefined): void {
    this.guard = guard;
  }

  /** One range over the whole prefix: a consistent snapshot at one revision. */
  async load(): Promise<Snapshot> {
    try {
      // A large cluster's snapshot takes longer than one ordinary call.
      const res = await this.client.getAll().prefix(ROOT).options({ deadline: Date.now() + LOAD_DEADLINE_MS }).exec();
      const snap: Snapshot = emptySnapshot(Number(res.header.revision));
      for (const kv of res.kvs) {
        const parsed = parseKey(kv.key.toString());
        if (parsed) addToSnapshot(snap, parsed.kind, kv.value.toString());
      }
      return snap;
    } catch (err) {
      throw new StoreUnavailableError(`cannot read state from etcd: ${(err as Error).message}`, { cause: err });
    }
  }

  async commit(ops: WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    if (ops.length > MAX_OPS_PER_TXN) throw new Error(`too many operations in one transaction: ${ops.length}`);
    let res;
    try {
      res = await this.client.kv.txn(
        {
        compare: this.guard ? [this.guard] : [],
        success: ops.map((op) =>
          op.value === undefined
            ? { request_delete_range: { key: Buffer.from(key(op.kind, op.id)) } }
            : { request_put: { key: Buffer.from(key(op.kind, op.id)), value: Buffer.from(op.value) } },
        ),
        },
      );
    } catch (err) {
      throw new StoreUnavailableError(`cannot write to etcd: ${(err as Error).message}`, { cause: err });
    }
    if (!res.succeeded) throw new NotLeaderError('write refused: this manager is no longer the leader');
  }

  /**
   * Follows every change after `revision` (a follower's view). `onChange` gets each
   * change; `onReset` is called when the watch cannot resume (compaction, error) and the
   * caller should reload.
   */
  async watch(revision: number, onChange: (c: RemoteChange) => void, onReset: (err: Error) => void): Promise<() => Promise<void>> {
    const watcher: Watcher = await this.client.watch().prefix(ROOT).startRevision(String(revision + 1)).create();
    const handle = (k: Buffer, value?: Buffer) => {
      const parsed = parseKey(k.toString());
      if (parsed) onChange({ ...parsed, value: value?.toString() });
    };
    watcher.on('put', (kv) => handle(kv.key, kv.value));
    watcher.on('delete', (kv) => handle(kv.key));
    watcher.on('error', (err) => onReset(err));
    return async () => {
      await watcher.cancel().catch(() => {});
    };
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
