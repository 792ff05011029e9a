// Routes Control API calls by role: a leader answers everything itself; a follower
// answers reads from its watch-fed view and forwards writes to the leader.
import { credentials, status, type ServiceError } from '@grpc/grpc-js';
import { ControlClient, type ControlServer } from '../../proto/gen/shoal.js';
import type { ControlApi } from './control-api.js';

const WRITE_METHODS = ['updateNode', 'createService', 'scaleService', 'removeService'] as const;
const FORWARD_DEADLINE_MS = 15_000;

export interface RouterView {
  /** The API over this manager's current view (leader's state or follower's). */
  api(): ControlApi | undefined;
  isLeader(): boolean;
  /** The leader's address when another manager leads. */
  leaderAddress(): string | undefined;
}

type Handler = (call: { request: unknown; getPeer(): string }, cb: (err: Partial<ServiceError> | null, res?: unknown) => void) => void;

export class ControlRouter {
  private client: ControlClient | undefined;
  private clientAddress = '';

  constructor(private readonly view: RouterView) {}

  implementation(): ControlServer {
    const impl: Record<string, Handler> = {};
    const methods = Object.keys(ControlClient.service);
    for (const method of methods) {
      const isWrite = (WRITE_METHODS as readonly string[]).includes(method);
      impl[method] = (call, cb) => {
        const api = this.view.api();
        if (api && (!isWrite || this.view.isLeader())) {
          ((api.implementation() as unknown as Record<string, Handler>)[method]!)(call, cb);
          return;
        }
        if (isWrite) {
          const leader = this.view.leaderAddress();
          if (leader) return this.forward(leader, method, call.request, cb);
        }
        cb({
          code: status.UNAVAILABLE,
          details: isWrite ? 'no leader elected yet (is etcd reachable?); try again shortly' : 'this manager is still loading the cluster state; try again shortly',
        });
      };
    }
    return impl as unknown as ControlServer;
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  private forward(address: string, method: string, request: unknown, cb: (err: Partial<ServiceError> | null, res?: unknown) => void): void {
    if (!this.client || this.clientAddress !== address) {
      this.client?.close();
      this.client = new ControlClient(address, credentials.createInsecure());
      this.clientAddress = address;
    }
    const fn = (this.client as unknown as Record<string, (req: unknown, opts: object, cb: (e: ServiceError | null, r?: unknown) => void) => void>)[method]!;
    fn.call(this.client, request, { deadline: Date.now() + FORWARD_DEADLINE_MS }, (err, res) => {
      if (err) cb({ code: err.code, details: err.details || err.message, metadata: err.metadata });
      else cb(null, res);
    });
  }
}
