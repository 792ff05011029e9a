// The etcd adapter: every etcd call and error conversion lives here.
import { Etcd3 } from 'etcd3';
import type { Snapshot, Store, WriteOp } from './store.js';
import { MAX_OPS_PER_TXN, StoreUnavailableError } from './store.js';
import { KINDS, key, prefix } from './keys.js';
import { decodeNode, decodeService, decodeTask } from './codec.js';

const DIAL_TIMEOUT_MS = 3_000;

export class EtcdStore implements Store {
  private readonly client: Etcd3;

  constructor(endpoints: string[]) {
    this.client = new Etcd3({ hosts: endpoints, dialTimeout: DIAL_TIMEOUT_MS });
  }

  get etcd(): Etcd3 {
    return this.client;
  }

  async load(): Promise<Snapshot> {
    try {
      const snap: Snapshot = { nodes: [], services: [], tasks: [], revision: 0 };
      for (const kind of KINDS) {
        const res = await this.client.getAll().prefix(prefix(kind)).exec();
        snap.revision = Math.max(snap.revision, Number(res.header.revision));
        for (const kv of res.kvs) {
          const v = kv.value.toString();
          if (kind === 'nodes') snap.nodes.push(decodeNode(v));
          else if (kind === 'services') snap.services.push(decodeService(v));
          else snap.tasks.push(decodeTask(v));
        }
      }
      return snap;
    } catch (err) {
      throw new StoreUnavailableError(`cannot read state from etcd: ${(err as Error).message}`, { cause: err });
    }
  }

  async commit(ops: WriteOp[]): Promise<void> {
    if (ops.length === 0) return;
    if (ops.length > MAX_OPS_PER_TXN) throw new Error(`too many operations in one transaction: ${ops.length}`);
    try {
      await this.client.kv.txn({
        success: ops.map((op) =>
          op.value === undefined
            ? { request_delete_range: { key: Buffer.from(key(op.kind, op.id)) } }
            : { request_put: { key: Buffer.from(key(op.kind, op.id)), value: Buffer.from(op.value) } },
        ),
      });
    } catch (err) {
      throw new StoreUnavailableError(`cannot write to etcd: ${(err as Error).message}`, { cause: err });
    }
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
