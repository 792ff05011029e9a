// The etcd adapter: every etcd call and error conversion of the desired state lives here.
import {
  Etcd3,
  EtcdLeaseInvalidError,
  GRPCDeadlineExceededError,
  GRPCInvalidArgumentError,
  GRPCResourceExhastedError,
  isRecoverableError,
  type IKeyValue,
  type Watcher,
} from 'etcd3';
import { ConsecutiveBreaker, circuitBreaker, handleAll, handleWhen, noop, retry } from 'cockatiel';
import type { ICompare } from 'etcd3/lib/rpc.js';
import type { ChangeSource, KeepAliveStream, KeyChange, LeaseStore, Snapshot, Store, WriteOp } from './store.js';
import {
  LeaseNotFoundError,
  MAX_OPS_PER_TXN,
  NotLeaderError,
  StoreUnavailableError,
  WriteRefusedError,
  emptySnapshot,
} from './store.js';
import { ENDPOINTS_PREFIX, ROOT, key, parseKey, prefixEnd } from './keys.js';
import { addToSnapshot } from './codec.js';
import type { Kind } from './keys.js';
import { etcdCredentials, etcdGrpcOptions, type EtcdTls } from '../config/connections.js';

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
/** Keys per range call of `range()`: well under grpc's 4 MB message limit for endpoint values. */
const RANGE_PAGE = 5_000;
/** Keys per page of `load()`: a task is ~1-2 KB of JSON, so a page stays a few MB. */
const LOAD_PAGE = 2_000;
/** Replies up to this size are accepted (grpc-js' default is 4 MB): a page of large values must not fail a load. */
const MAX_RECEIVE_BYTES = 64 * 2 ** 20;

export interface RemoteChange {
  kind: Kind;
  id: string;
  value?: string; // undefined: deleted
}

export class EtcdStore implements Store, ChangeSource, LeaseStore {
  private readonly client: Etcd3;
  /** Compared in every write transaction: only the current leader's writes apply. */
  private guard: ICompare | undefined;
  private closed = false;

  /**
   * `ownConnection`: its own TCP connection (grpc-js shares one between identical clients
   * otherwise). `tls`: the CA and client certificate (the embedded etcd's, or --etcd-cacert...).
   */
  constructor(endpoints: string[], opts: { ownConnection?: boolean; tls?: EtcdTls } = {}) {
    const credentials = etcdCredentials(opts.tls);
    this.client = new Etcd3({
      hosts: endpoints,
      ...(credentials ? { credentials } : {}),
      dialTimeout: DIAL_TIMEOUT_MS,
      grpcOptions: {
        'grpc.max_receive_message_length': MAX_RECEIVE_BYTES,
        ...etcdGrpcOptions(opts.tls),
        ...(opts.ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {}),
      },
      // Per attempt (a retry gets a fresh deadline); streams (watch, keepalive) have none.
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + CALL_DEADLINE_MS }),
      faultHandling: {
        // With one member there is nowhere else to go: a breaker would turn one slow call
        // (a deadline missed while etcd is busy) into a whole second of failed calls,
        // lease renewals included, and cost the leadership (seen at 100,000 tasks).
        host: () =>
          endpoints.length > 1
            ? circuitBreaker(handleAll, { halfOpenAfter: SKIP_FAILED_MEMBER_MS, breaker: new ConsecutiveBreaker(1) })
            : noop,
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

  /**
   * Everything but the endpoints (which are not ClusterState's, and as many as the tasks):
   * a consistent snapshot at one revision, read in pages of LOAD_PAGE keys all pinned to
   * the first page's revision. (One transaction of two ranges answered 18 MB at 100,000
   * tasks, over gRPC's 4 MB limit: a new leader could never load such a cluster.)
   */
  async load(): Promise<Snapshot> {
    try {
      const deadline = Date.now() + LOAD_DEADLINE_MS;
      const snap: Snapshot = emptySnapshot(0);
      let revision = 0;
      const ranges: [string, string][] = [
        [ROOT, ENDPOINTS_PREFIX],
        [prefixEnd(ENDPOINTS_PREFIX), prefixEnd(ROOT)],
      ];
      for (const [from, to] of ranges) {
        let start = from;
        for (;;) {
          const res = await this.client.kv.range(
            {
              key: Buffer.from(start),
              range_end: Buffer.from(to),
              limit: LOAD_PAGE,
              ...(revision ? { revision } : {}),
            },
            { deadline },
          );
          if (!revision) revision = Number(res.header.revision);
          for (const kv of res.kvs) {
            const parsed = parseKey(kv.key.toString());
            if (parsed) addToSnapshot(snap, parsed.kind, kv.value.toString());
          }
          if (!res.more || res.kvs.length === 0) break;
          start = res.kvs[res.kvs.length - 1]!.key.toString() + '\0';
        }
      }
      snap.revision = revision;
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
      res = await this.client.kv.txn({
        compare: this.guard ? [this.guard] : [],
        success: ops.map((op) =>
          op.value === undefined
            ? { request_delete_range: { key: Buffer.from(key(op.kind, op.id)) } }
            : {
                request_put: {
                  key: Buffer.from(key(op.kind, op.id)),
                  value: Buffer.from(op.value),
                  ...(op.lease !== undefined ? { lease: op.lease } : {}),
                },
              },
        ),
      });
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError)
        throw new LeaseNotFoundError(`cannot write to etcd: ${err.message}`, { cause: err });
      if (isRefusedForGood(err))
        throw new WriteRefusedError(`etcd refused the write: ${(err as Error).message}`, { cause: err });
      throw new StoreUnavailableError(`cannot write to etcd: ${(err as Error).message}`, { cause: err });
    }
    if (!res.succeeded) throw new NotLeaderError('write refused: this manager is no longer the leader');
  }

  // ------------------------------------------------------------ leases (endpoints)

  async grantLease(ttlSeconds: number): Promise<string> {
    try {
      const res = await this.client.leaseClient.leaseGrant({ TTL: ttlSeconds });
      return String(res.ID);
    } catch (err) {
      throw new StoreUnavailableError(`cannot grant an etcd lease: ${(err as Error).message}`, { cause: err });
    }
  }

  async revokeLease(id: string): Promise<void> {
    try {
      await this.client.leaseClient.leaseRevoke({ ID: id });
    } catch (err) {
      if (err instanceof EtcdLeaseInvalidError) return; // expired already: its keys are gone
      throw new StoreUnavailableError(`cannot revoke etcd lease ${id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** One LeaseKeepAlive stream for any number of leases (etcd3's Lease opens one per lease). */
  async openKeepAlive(onLost: (id: string) => void, onEnd: (err: Error) => void): Promise<KeepAliveStream> {
    let stream;
    try {
      stream = await this.client.leaseClient.leaseKeepAlive();
    } catch (err) {
      throw new StoreUnavailableError(`cannot open the lease keepalive stream: ${(err as Error).message}`, {
        cause: err,
      });
    }
    let open = true;
    const end = (err: Error) => {
      if (!open) return;
      open = false;
      onEnd(err);
    };
    stream.on('data', (res) => {
      // etcd answers an unknown (expired, revoked) lease with TTL 0 or less.
      if (Number(res.TTL) <= 0) onLost(String(res.ID));
    });
    stream.on('error', (err) => end(err));
    stream.on('end', () => end(new Error('lease keepalive stream ended')));
    return {
      send: (id) => {
        if (!open) return;
        try {
          stream.write({ ID: id });
        } catch (err) {
          end(err as Error);
        }
      },
      close: () => {
        if (!open) return;
        open = false;
        try {
          // Half-close first: etcd3 counts an error on a still-writable stream (as a bare
          // cancel gives) as a failed member, which would open our circuit breaker.
          stream.end();
          stream.cancel();
        } catch {
          // already gone
        }
      },
    };
  }

  // ------------------------------------------------------------ ranges (the endpoint catalog)

  /** Pages of RANGE_PAGE keys, all at the first page's revision (one consistent read). */
  async range(from: string, to: string): Promise<{ revision: number; kvs: KeyChange[] }> {
    const kvs: KeyChange[] = [];
    let revision = 0;
    let start = from;
    const deadline = Date.now() + LOAD_DEADLINE_MS;
    try {
      for (;;) {
        const res = await this.client.kv.range(
          { key: Buffer.from(start), range_end: Buffer.from(to), limit: RANGE_PAGE, ...(revision ? { revision } : {}) },
          { deadline },
        );
        if (!revision) revision = Number(res.header.revision);
        for (const kv of res.kvs) kvs.push(toChange(kv, false));
        if (!res.more || res.kvs.length === 0) break;
        start = res.kvs[res.kvs.length - 1]!.key.toString() + '\0';
      }
      return { revision, kvs };
    } catch (err) {
      throw new StoreUnavailableError(`cannot read from etcd: ${(err as Error).message}`, { cause: err });
    }
  }

  async watchRange(
    from: string,
    to: string,
    afterRevision: number,
    onChanges: (changes: KeyChange[], revision: number) => void,
    onReset: (err: Error) => void,
  ): Promise<() => Promise<void>> {
    const watcher: Watcher = await this.client
      .watch()
      .inRange({ start: from, end: to })
      .startRevision(String(afterRevision + 1))
      .create();
    watcher.on('data', (res) => {
      if (res.events.length === 0) return; // progress notifications
      onChanges(
        res.events.map((ev) => toChange(ev.kv, ev.type === 'Delete')),
        Number(res.header.revision),
      );
    });
    watcher.on('error', (err) => onReset(err));
    return async () => {
      await watcher.cancel().catch(() => {});
    };
  }

  /**
   * Follows every change after `revision` (a follower's view). `onChange` gets each
   * change; `onReset` is called when the watch cannot resume (compaction, error) and the
   * caller should reload.
   */
  async watch(
    revision: number,
    onChange: (c: RemoteChange) => void,
    onReset: (err: Error) => void,
  ): Promise<() => Promise<void>> {
    return this.watchRange(
      ROOT,
      prefixEnd(ROOT),
      revision,
      (changes) => {
        for (const c of changes) {
          const parsed = parseKey(c.key);
          if (parsed) onChange({ ...parsed, value: c.value });
        }
      },
      onReset,
    );
  }

  /** Closes the connection; idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/** A delete event's kv carries the key and, as mod_revision, the revision of the delete. */
function toChange(kv: IKeyValue, deleted: boolean): KeyChange {
  const change: KeyChange = { key: kv.key.toString(), revision: Number(kv.mod_revision) };
  if (!deleted) change.value = kv.value.toString();
  return change;
}

/**
 * A write etcd will refuse again however often it is sent: too large (etcd's own "request
 * is too large", or gRPC's RESOURCE_EXHAUSTED for a message over its receive limit) or
 * invalid (INVALID_ARGUMENT: too many ops, a key twice). A full database (also
 * RESOURCE_EXHAUSTED, "database space exceeded") is not: it refuses every write until an
 * operator frees space, and dropping writes would not help.
 */
export function isRefusedForGood(err: unknown): boolean {
  const message = err instanceof Error ? err.message : String(err);
  if (/space exceeded|NOSPACE/i.test(message)) return false;
  if (/request is too large|larger than max|too many operations|duplicate key/i.test(message)) return true;
  return err instanceof GRPCResourceExhastedError || err instanceof GRPCInvalidArgumentError;
}
