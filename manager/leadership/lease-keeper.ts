// Keeps the leader's etcd lease alive from a worker thread (lease-keeper-worker.mjs), with
// its own event loop and etcd connection. On the main loop, renewals queued behind the I/O
// of 1,000 agents took 250-800 ms each while 100,000 tasks were placed, and a longer stall
// let etcd expire the 2 s lease: the leader stepped down and its agents had to register
// again. The worker only renews; granting, the leader key and fencing stay in Election.
import { Worker } from 'node:worker_threads';
import type { EtcdTls } from '../config/connections.js';

export interface LeaseKeeperOptions {
  endpoints: string[];
  /** The CA and client certificate (PEM text; the worker gets a copy). */
  tls?: EtcdTls;
  renewMs: number;
  deadlineMs: number;
  /** Without one successful renewal for this long, the lease is given up as lost. */
  stepDownAfterMs: number;
}

export class LeaseKeeper {
  private readonly worker: Worker;
  private closed = false;

  constructor(opts: LeaseKeeperOptions, onLost: (leaseId: string, reason: string) => void) {
    this.worker = new Worker(new URL('./lease-keeper-worker.mjs', import.meta.url), {
      workerData: opts,
      // Not the manager's flags (a --cpu-prof, a tsx loader): the worker is plain JavaScript.
      execArgv: [],
    });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; leaseId: string; reason: string }) => {
      if (m.type === 'lost' && !this.closed) onLost(m.leaseId, m.reason);
    });
    this.worker.on('error', (err) => {
      if (!this.closed) onLost('', `lease keeper failed: ${err.message}`);
    });
  }

  /** Renew this lease from now on (replaces any other). */
  keep(leaseId: string): void {
    this.worker.postMessage({ type: 'keep', leaseId });
  }

  stop(): void {
    this.worker.postMessage({ type: 'stop' });
  }

  /** Ends the worker (no more renewals); idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.worker.terminate();
  }
}
