// Routes Control API calls by role: a leader answers everything itself; a follower
// answers reads from its watch-fed view (LookupService from its endpoint catalog) and
// forwards writes to the leader. Events is served by every manager itself, whatever
// its role or view, and never forwarded.
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, status, type ServerWritableStream, type ServiceError } from '@grpc/grpc-js';
import { ControlClient, type ControlServer, type Event, type EventsRequest } from '../../proto/gen/shoal.js';
import type { ControlApi } from './control-api.js';

const WRITE_METHODS = [
  'updateNode',
  'createService',
  'scaleService',
  'removeService',
  'removeNode',
  'createNetwork',
  'removeNetwork',
] as const;
/** A forwarded write rides through a leader change for this long (the CLI waits 10 s). */
const FORWARD_DEADLINE_MS = 8_000;
const LEADER_POLL_MS = 50;
/** A leader that did not answer is tried again after this long, if it still leads. */
const RETRY_SAME_LEADER_MS = 500;

export interface RouterView {
  /** The API over this manager's current view (leader's state or follower's). */
  api(): ControlApi | undefined;
  isLeader(): boolean;
  /** The leader's address when another manager leads. */
  leaderAddress(): string | undefined;
  /** Control.Events, served locally (see serveEvents); without it the term's API serves it. */
  events?(call: ServerWritableStream<EventsRequest, Event>): void;
}

type StreamHandler = (call: { emit(e: string, v: unknown): boolean }) => void;

type Handler = (
  call: { request: unknown; getPeer(): string },
  cb: (err: Partial<ServiceError> | null, res?: unknown) => void,
) => void;

export class ControlRouter {
  private client: ControlClient | undefined;
  private clientAddress = '';

  constructor(private readonly view: RouterView) {}

  implementation(): ControlServer {
    const impl: Record<string, Handler> = {};
    const methods = Object.keys(ControlClient.service);
    const definitions = ControlClient.service as unknown as Record<string, { responseStream: boolean }>;
    for (const method of methods) {
      if (definitions[method]?.responseStream) {
        (impl as unknown as Record<string, StreamHandler>)[method] = this.streamHandler(method);
        continue;
      }
      const isWrite = (WRITE_METHODS as readonly string[]).includes(method);
      impl[method] = (call, cb) => {
        const api = this.view.api();
        if (api && (!isWrite || this.view.isLeader())) {
          (api.implementation() as unknown as Record<string, Handler>)[method]!(call, cb);
          return;
        }
        if (isWrite) {
          void this.forwardWrite(method, call, cb, Date.now() + FORWARD_DEADLINE_MS);
          return;
        }
        cb({
          code: status.UNAVAILABLE,
          details: isWrite
            ? 'no leader elected yet (is etcd reachable?); try again shortly'
            : 'this manager is still loading the cluster state; try again shortly',
        });
      };
    }
    return impl as unknown as ControlServer;
  }

  /** Server streams (reads): Events locally, any other from the current view. */
  private streamHandler(method: string): StreamHandler {
    return (call) => {
      if (method === 'events' && this.view.events) {
        this.view.events(call as unknown as ServerWritableStream<EventsRequest, Event>);
        return;
      }
      const api = this.view.api();
      if (api) {
        (api.implementation() as unknown as Record<string, StreamHandler>)[method]!(call);
        return;
      }
      call.emit('error', {
        code: status.UNAVAILABLE,
        details: 'this manager is still loading the cluster state; try again shortly',
      });
    };
  }

  close(): void {
    this.client?.close();
    this.client = undefined;
  }

  /**
   * Sends a write to the leader; while there is none, or it does not answer (it just
   * died), waits for the next one — possibly this manager — until the deadline.
   */
  private async forwardWrite(
    method: string,
    call: { request: unknown; getPeer(): string },
    cb: (err: Partial<ServiceError> | null, res?: unknown) => void,
    deadline: number,
  ): Promise<void> {
    let lastError = 'no leader elected yet (is etcd reachable?)';
    let failedAddress = '';
    let failedAt = 0;
    while (Date.now() < deadline) {
      if (failedAddress && Date.now() - failedAt > RETRY_SAME_LEADER_MS) failedAddress = '';
      const api = this.view.api();
      if (api && this.view.isLeader()) {
        (api.implementation() as unknown as Record<string, Handler>)[method]!(call, cb);
        return;
      }
      const leader = this.view.leaderAddress();
      if (leader && leader !== failedAddress) {
        const result = await new Promise<{ err: Partial<ServiceError> | null; res?: unknown }>((resolve) =>
          this.forward(leader, method, call.request, deadline, (err, res) => resolve({ err, res })),
        );
        if (!result.err || result.err.code !== status.UNAVAILABLE) {
          cb(result.err, result.res);
          return;
        }
        lastError = `the leader at ${leader} does not answer`;
        failedAddress = leader;
        failedAt = Date.now();
      }
      await sleep(LEADER_POLL_MS);
    }
    cb({ code: status.UNAVAILABLE, details: `${lastError}; try again shortly` });
  }

  private forward(
    address: string,
    method: string,
    request: unknown,
    deadline: number,
    cb: (err: Partial<ServiceError> | null, res?: unknown) => void,
  ): void {
    if (!this.client || this.clientAddress !== address) {
      this.client?.close();
      this.client = new ControlClient(address, credentials.createInsecure());
      this.clientAddress = address;
    }
    const fn = (
      this.client as unknown as Record<
        string,
        (req: unknown, opts: object, cb: (e: ServiceError | null, r?: unknown) => void) => void
      >
    )[method]!;
    fn.call(this.client, request, { deadline }, (err, res) => {
      if (err) cb({ code: err.code, details: err.details || err.message, metadata: err.metadata });
      else cb(null, res);
    });
  }
}
