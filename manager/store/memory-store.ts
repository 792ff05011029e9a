// In-memory Store for unit tests: same semantics as the etcd one, no process needed.
import type { Snapshot, Store, WriteOp } from './store.js';
import { MAX_OPS_PER_TXN, StoreUnavailableError, emptySnapshot } from './store.js';
import { key, parseKey } from './keys.js';
import { addToSnapshot } from './codec.js';

export class MemoryStore implements Store {
  readonly data = new Map<string, string>();
  revision = 0;
  commits = 0;
  /** Set to make commits fail, as when etcd is unreachable. */
  unavailable = false;

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
    for (const op of ops) {
      const k = key(op.kind, op.id);
      if (op.value === undefined) this.data.delete(k);
      else this.data.set(k, op.value);
    }
    this.revision++;
    this.commits++;
  }

  async close(): Promise<void> {}
}
