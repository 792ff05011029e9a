// The persistence seam: the manager keeps desired state in memory (ClusterState) and
// writes it through a Store. etcd in production, memory in unit tests.
import type { Network, Node, Service, SubnetLease, Task } from '../../proto/gen/shoal.js';
import type { Kind } from './keys.js';

export interface Snapshot {
  nodes: Node[];
  services: Service[];
  tasks: Task[];
  networks: Network[];
  leases: SubnetLease[];
  revision: number;
}

export function emptySnapshot(revision = 0): Snapshot {
  return { nodes: [], services: [], tasks: [], networks: [], leases: [], revision };
}

/** A put carries the object's JSON; a delete carries none. */
export interface WriteOp {
  kind: Kind;
  id: string;
  value?: string;
}

export interface Store {
  load(): Promise<Snapshot>;
  /** Applies ops atomically (callers keep batches within MAX_OPS_PER_TXN). */
  commit(ops: WriteOp[]): Promise<void>;
  close(): Promise<void>;
}

/** etcd's default --max-txn-ops. */
export const MAX_OPS_PER_TXN = 128;

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
