// Routes Control API calls by role, as CONTROL_ROUTES (routes.ts) declares each method: a
// leader answers everything itself; a follower answers reads from its watch-fed view
// (LookupService from its endpoint catalog) and forwards writes to the leader, and pipes the
// leader's server streams (ServiceLogs) from the leader. Local calls (Events) are served by
// every manager itself, whatever its role or view, never forwarded.
import { setTimeout as sleep } from 'node:timers/promises';
import { MANAGER_CHANNEL_OPTIONS } from '../../proto/pki/grpc-tls.js';
import { credentials, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import { ControlClient, ControlService, type ControlServer } from '../../proto/gen/shoal.js';
import { proxyService, type ProxiedCall, type UnaryCall } from '../service-proxy.js';
import type { ControlApi } from './control-api.js';
import { isForwarded, isLocal, type LocalControl } from './routes.js';
import { pipeFromLeader } from './pipe.js';
import { CLIENT_MESSAGE_LIMITS } from '../../proto/limits.js';

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
  /** What serves the local methods (Events, see serveEvents); without it the term's API serves them. */
  local?: LocalControl;
  /** How this manager authenticates to the leader (mutual TLS; a new value after each renewal). */
  credentials?: () => ChannelCredentials;
}

export class ControlRouter {
  private client: ControlClient | undefined;
  private clientAddress = '';
  private clientCredentials: ChannelCredentials | undefined;
  private closed = false;

  constructor(private readonly view: RouterView) {}

  implementation(): ControlServer {
    return proxyService<ControlServer>(ControlService, (call) => this.route(call));
  }

  /** Closes the connection to the leader (forwarded writes in flight fail); idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    this.client?.close();
    this.client = undefined;
  }

  private route(call: ProxiedCall<ControlServer>): void {
    if (isLocal(call) && this.view.local) {
      call.delegate(this.view.local);
      return;
    }
    const api = this.view.api();
    const write = isForwarded(call.method);
    if (api && (!write || this.view.isLeader())) {
      call.delegate(api.implementation());
      return;
    }
    if (write && call.kind === 'unary') {
      void this.forwardWrite(call, Date.now() + FORWARD_DEADLINE_MS);
      return;
    }
    if (write && call.kind === 'stream' && call.definition.responseStream && !call.definition.requestStream) {
      const leader = this.view.leaderAddress();
      if (leader) pipeFromLeader(this.leaderClient(leader), call);
      else call.refuse({ code: status.UNAVAILABLE, details: 'no leader elected yet; try again shortly' });
      return;
    }
    call.refuse({
      code: status.UNAVAILABLE,
      details: 'this manager is still loading the cluster state; try again shortly',
    });
  }

  /**
   * Sends a write to the leader; while there is none, or it does not answer (it just
   * died), waits for the next one — possibly this manager — until the deadline.
   */
  private async forwardWrite(call: UnaryCall<ControlServer>, deadline: number): Promise<void> {
    let lastError = 'no leader elected yet (is etcd reachable?)';
    let failedAddress = '';
    let failedAt = 0;
    while (Date.now() < deadline && !this.closed) {
      if (failedAddress && Date.now() - failedAt > RETRY_SAME_LEADER_MS) failedAddress = '';
      const api = this.view.api();
      if (api && this.view.isLeader()) {
        call.delegate(api.implementation());
        return;
      }
      const leader = this.view.leaderAddress();
      if (leader && leader !== failedAddress) {
        const result = await this.forward(leader, call, deadline);
        if (!result.err || result.err.code !== status.UNAVAILABLE) {
          call.reply(result.err, result.res);
          return;
        }
        lastError = `the leader at ${leader} does not answer`;
        failedAddress = leader;
        failedAt = Date.now();
      }
      await sleep(LEADER_POLL_MS);
    }
    call.refuse({ code: status.UNAVAILABLE, details: `${lastError}; try again shortly` });
  }

  /** The client of the leader at `address` (a new one when the leader or this manager's certificate changed). */
  private leaderClient(address: string): ControlClient {
    const creds = this.view.credentials?.() ?? credentials.createInsecure();
    if (!this.client || this.clientAddress !== address || (this.view.credentials && creds !== this.clientCredentials)) {
      this.client?.close();
      this.client = new ControlClient(address, creds, {
        ...CLIENT_MESSAGE_LIMITS,
        'grpc.enable_http_proxy': 0,
        ...MANAGER_CHANNEL_OPTIONS,
      });
      this.clientAddress = address;
      this.clientCredentials = creds;
    }
    return this.client;
  }

  /** One attempt: the call's request to the same method of the leader, its answer as the leader gave it. */
  private forward(
    address: string,
    call: UnaryCall<ControlServer>,
    deadline: number,
  ): Promise<{ err: Partial<ServiceError> | null; res?: unknown }> {
    const client = this.leaderClient(address);
    const def = call.definition;
    return new Promise((resolve) => {
      client.makeUnaryRequest(
        def.path,
        (value: unknown) => def.requestSerialize(value),
        (bytes: Buffer) => def.responseDeserialize(bytes),
        call.request,
        { deadline },
        (err, res) =>
          resolve(
            err
              ? { err: { code: err.code, details: err.details || err.message, metadata: err.metadata } }
              : { err: null, res },
          ),
      );
    });
  }
}
