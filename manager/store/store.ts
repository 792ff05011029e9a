// The persistence seam: the manager keeps desired state in memory (ClusterState) and
// writes it through a Store. etcd in production, memory in unit tests.
import type { Config, Network, Node, Secret, Service, SubnetLease, Task } from '../../proto/gen/shoal.js';
import type { KeySpace } from './keys.js';

/**
 * A data key as stored (kind 'keyring'): sealed with the cluster key, never in the clear.
 * `wrapped` is base64 of manager/secrets/cipher.ts's sealed form.
 */
export interface WrappedKey {
  id: string;
  wrapped: string;
  createdAtMs: number;
}

export interface Snapshot {
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  networks: Network[];
  leases: SubnetLease[];
  /** spec.data sealed (manager/secrets/keyring.ts), never the plaintext. */
  secrets: Secret[];
  configs: Config[];
  keyring: WrappedKey[];
  revision: number;
}

export function emptySnapshot(revision = 0): Snapshot {
  return {
    nodes: [],
    services: [],
    tasks: [],
    networks: [],
    leases: [],
    secrets: [],
    configs: [],
    keyring: [],
    revision,
  };
}

/** A put carries the object's JSON; a delete carries none. */
export interface WriteOp {
  kind: KeySpace;
  id: string;
  value?: string;
  /** A put bound to this etcd lease (the key vanishes with it); none: not leased. */
  lease?: string;
}

export interface Store {
  load(): Promise<Snapshot>;
  /** Applies ops atomically (callers keep batches within MAX_OPS_PER_TXN). */
  commit(ops: WriteOp[]): Promise<void>;
  close(): Promise<void>;
}

/** etcd's default --max-txn-ops. */
export const MAX_OPS_PER_TXN = 128;
/** etcd refuses a request over this ("etcdserver: request is too large"): its default --max-request-bytes. */
export const ETCD_MAX_REQUEST_BYTES = 1.5 * 2 ** 20;
/**
 * The writer keeps each transaction's keys and values under this, a third below etcd's
 * limit for the framing (128 ops of a 10 KB task spec was 1.3 MB: one spec with a few KB
 * of environment made every task transaction too large, retried forever).
 */
export const MAX_TXN_BYTES = 2 ** 20;

/**
 * The store refused a write for good (a value too large, an invalid transaction): the same
 * ops will be refused again. The writer drops them and fails whoever waits for them.
 */
export class WriteRefusedError extends Error {
  override name = 'WriteRefusedError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
  readonly retryable = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A guarded write failed: another manager leads now. Not retryable by this manager. */
export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
  readonly retryable = false;
}

/** A put was bound to a lease etcd does not know (expired or revoked): the whole txn failed. */
export class LeaseNotFoundError extends Error {
  override name = 'LeaseNotFoundError';
  readonly retryable = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

// ------------------------------------------------------------ discovery seams

/** One key as read or changed. `value` undefined: deleted. `revision`: its mod revision (a delete's own). */
export interface KeyChange {
  key: string;
  value?: string;
  revision: number;
}

/** Reads a key range at one revision and follows it: what the endpoint catalog needs. */
export interface ChangeSource {
  /** Every key in [from, to) at one revision. */
  range(from: string, to: string): Promise<{ revision: number; kvs: KeyChange[] }>;
  /**
   * Every change in [from, to) after `afterRevision`, in order, one call per revision
   * batch (`revision`: the newest revision the batch brings). `onReset` when the watch
   * cannot go on (compaction, cancelled): the caller reads the range again.
   */
  watchRange(
    from: string,
    to: string,
    afterRevision: number,
    onChanges: (changes: KeyChange[], revision: number) => void,
    onReset: (err: Error) => void,
  ): Promise<() => Promise<void>>;
}

/** One stream of lease keepalives (etcd's LeaseKeepAlive), shared by every lease. */
export interface KeepAliveStream {
  /** Renews the lease once. */
  send(id: string): void;
  close(): void;
}

/** etcd leases, for keys that must vanish by themselves when nobody renews them. */
export interface LeaseStore {
  grantLease(ttlSeconds: number): Promise<string>;
  /** Deletes every key bound to the lease; a lease etcd does not know counts as revoked. */
  revokeLease(id: string): Promise<void>;
  /**
   * Opens the keepalive stream. `onLost(id)`: etcd answered that it no longer knows the
   * lease; `onEnd(err)`: the stream broke (open a new one).
   */
  openKeepAlive(onLost: (id: string) => void, onEnd: (err: Error) => void): Promise<KeepAliveStream>;
}
