// Agent-facing gRPC (the leader's): registration and sessions, heartbeats (heartbeat.ts),
// the assignment stream (assignments.ts), batched status reports, networks, and discovery
// (the Endpoints stream, endpoints.ts, fed by the endpoint catalog). Sessions live in
// memory; only node status changes (ready/down) are written.
import { timingSafeEqual } from 'node:crypto';
import type { ServerWritableStream } from '@grpc/grpc-js';
import type {
  AssignmentsMessage,
  AssignmentsRequest,
  DispatcherServer,
  HeartbeatRequest,
  HeartbeatResponse,
  NetworksMessage,
  NetworksRequest,
  Node,
  RegisterRequest,
  RegisterResponse,
  RenewCertificateRequest,
  RenewCertificateResponse,
  UpdateTaskStatusRequest,
  UpdateTaskStatusResponse,
} from '../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind, Availability, NodeStatus } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import { canTransition } from '../../proto/task-state.js';
import type { LifecycleState } from '../../proto/lifecycle.js';
import { systemClock, type Clock } from '../../proto/clock.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import type { EndpointView } from '../discovery/view.js';
import {
  alreadyExists,
  ApiError,
  invalidArgument,
  toServiceError,
  unary,
  unauthenticated,
  unimplemented,
} from '../errors.js';
import { status } from '@grpc/grpc-js';
import { Assignments } from './assignments.js';
import { EndpointStreams } from './endpoints.js';
import { HeartbeatMonitor } from './heartbeat.js';
import { newSession, Sessions, type Session } from './session.js';
import { PayloadSource } from './payloads.js';
import type { Keyring } from '../secrets/keyring.js';
import { closeLogBroker, logBroker } from '../logs/broker.js';

/** What the cluster authority does for the dispatcher (manager/security/); absent in unit tests without TLS. */
export interface DispatcherSecurity {
  /** Whether a node still holds its membership (node rm takes it away). */
  isMember(nodeId: string): Promise<boolean>;
  /** A new certificate for the node (the CSR's key stays on the node). */
  renew(nodeId: string, csrPem: string): Promise<RenewCertificateResponse>;
}

export interface DispatcherOptions {
  /** Without `security` (unit tests): the shared token Register checks. */
  joinToken?: string;
  security?: DispatcherSecurity;
  heartbeatPeriodMs: number;
  /** Wall-clock time (Date.now): heartbeats, status timestamps. */
  now?: () => number;
  /** What the heartbeat check runs on (an interval, and the monotonic time a late check is told by); tests move it. */
  clock?: Clock;
  log?: (line: string) => void;
  /** Discovery's catalog; without it the Endpoints stream answers UNAVAILABLE. */
  endpoints?: EndpointView;
  /** Opens secrets for delivery (the leader's cluster key); without it no secret is sent. */
  keyring?: Keyring;
}

export class Dispatcher {
  private readonly sessions = new Sessions();
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly heartbeats: HeartbeatMonitor;
  private readonly assignmentStreams: Assignments;
  private readonly endpointStreams: EndpointStreams;
  private networksPushScheduled = false;
  private lifecycle: LifecycleState = 'new';
  private readonly stopStateListener: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly opts: DispatcherOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.heartbeats = new HeartbeatMonitor(state, this.sessions, {
      periodMs: opts.heartbeatPeriodMs,
      now: this.now,
      clock: opts.clock ?? systemClock,
      log: this.log,
      onDown: (s) => this.endSession(s),
    });
    this.assignmentStreams = new Assignments(state, this.sessions, new PayloadSource(state, opts.keyring, this.log));
    this.endpointStreams = new EndpointStreams(
      opts.endpoints,
      (nodeId, sessionId) => this.sessions.current(nodeId, sessionId).nodeId,
    );
    this.stopStateListener = state.onChange((c) => this.observe(c));
  }

  start(): void {
    if (this.lifecycle !== 'new') return;
    this.lifecycle = 'running';
    this.heartbeats.start();
  }

  /** Ends every session and stream; the agents reconnect to whoever leads next. Idempotent. */
  async close(): Promise<void> {
    if (this.lifecycle === 'stopped') return;
    this.lifecycle = 'stopped';
    await this.heartbeats.close();
    this.stopStateListener();
    closeLogBroker(this.state);
    for (const s of this.sessions.values()) this.endStreams(s);
    await this.endpointStreams.close();
    this.sessions.clear();
  }

  /** Agents with an open Endpoints stream (for tests and logs). */
  endpointStreamCount(): number {
    return this.endpointStreams.size;
  }

  /** Agents with an open Assignments stream (for tests and logs). */
  assignmentStreamCount(): number {
    let n = 0;
    for (const s of this.sessions.values()) if (s.stream) n++;
    return n;
  }

  connectedNodes(): number {
    return this.sessions.size;
  }

  implementation(): DispatcherServer {
    return {
      register: unary((req: RegisterRequest, peer) => this.register(req, peer)),
      heartbeat: unary((req: HeartbeatRequest) => this.heartbeat(req)),
      updateTaskStatus: unary((req: UpdateTaskStatusRequest) => this.updateTaskStatus(req)),
      assignments: (call) => this.assignments(call),
      networks: (call) => this.networks(call),
      endpoints: (call) => this.endpointStreams.serve(call),
      renewCertificate: unary((req: RenewCertificateRequest) => this.renewCertificate(req)),
      logSubscriptions: (call) => logBroker(this.state).subscriptions(call, this.sessions),
      publishLogs: (call, callback) => logBroker(this.state).publish(call, callback, this.sessions),
    };
  }

  // ------------------------------------------------------------ handlers

  async register(req: RegisterRequest, peer: string): Promise<RegisterResponse> {
    const security = this.opts.security;
    if (!security && !tokenMatches(req.joinToken, this.opts.joinToken ?? ''))
      throw unauthenticated('invalid join token');
    const hostname = req.description?.hostname ?? '';
    if (!hostname) throw invalidArgument('node description has no hostname');
    if (security && !(await security.isMember(req.nodeId)))
      throw new ApiError(
        status.PERMISSION_DENIED,
        `node ${req.nodeId} was removed from the cluster (node rm): it must join again with a token`,
      );
    const now = this.now();
    let node = req.nodeId ? this.state.nodes.get(req.nodeId) : undefined;
    if (!node) {
      const sameName = [...this.state.nodes.values()].find((n) => n.description?.hostname === hostname);
      if (sameName) {
        const live = this.sessions.get(sameName.id);
        if (live && req.nodeId !== sameName.id && now - live.lastBeat < this.heartbeats.downAfterMs()) {
          throw alreadyExists(
            `a node named "${hostname}" is already connected (node ${sameName.id}); give this agent another --name`,
          );
        }
        // With certificates, a node is who its certificate names: a new one never takes an old one's place.
        if (!security) node = sameName;
      }
    }
    const id = security ? req.nodeId : (node?.id ?? (req.nodeId || newId()));
    const updated: Node = {
      id,
      description: { ...req.description!, address: peerAddress(peer) },
      labels: node?.labels ?? {},
      availability: node?.availability ?? Availability.ACTIVE,
      status: NodeStatus.READY,
      statusMessage: '',
      createdAtMs: node?.createdAtMs ?? now,
      updatedAtMs: now,
    };
    this.state.putNode(updated);
    const old = this.sessions.get(id);
    if (old) this.endStreams(old);
    const session = newSession(id, now);
    this.sessions.set(id, session);
    this.log(`node ${hostname} (${id}) registered from ${updated.description!.address}`);
    return { nodeId: id, sessionId: session.id, heartbeatPeriodMs: this.heartbeats.heartbeatPeriodMs() };
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    this.heartbeats.beat(this.sessions.current(req.nodeId, req.sessionId), this.now());
    return { heartbeatPeriodMs: this.heartbeats.heartbeatPeriodMs() };
  }

  /** The period agents are told (see HeartbeatMonitor.heartbeatPeriodMs). */
  heartbeatPeriodMs(): number {
    return this.heartbeats.heartbeatPeriodMs();
  }

  async updateTaskStatus(req: UpdateTaskStatusRequest): Promise<UpdateTaskStatusResponse> {
    const s = this.sessions.current(req.nodeId, req.sessionId);
    const now = this.now();
    // A report is a heartbeat too: the agent skips its Heartbeat call while reports flow.
    this.heartbeats.beat(s, now);
    for (const u of req.updates) {
      const task = this.state.tasks.get(u.taskId);
      if (!task || task.nodeId !== s.nodeId || !u.status) continue;
      const cur = task.status;
      const next = u.status;
      if (cur && !canTransition(cur.state, next.state)) continue; // a late report: observed state never goes back
      if (
        cur &&
        next.state === cur.state &&
        next.containerId === cur.containerId &&
        next.err === cur.err &&
        next.message === cur.message
      )
        continue;
      this.state.putTask({ ...task, status: { ...next, timestampMs: now } });
    }
    return {};
  }

  /**
   * Makes `call` the session's stream in `slot` (ending the one it replaces) and forgets it
   * when it ends. Returns the session, or undefined after answering an unknown session.
   */
  private attachStream<K extends 'stream' | 'networkStream'>(
    call: NonNullable<Session[K]>,
    slot: K,
  ): Session | undefined {
    let s: Session;
    try {
      s = this.sessions.current(call.request.nodeId, call.request.sessionId);
    } catch (err) {
      call.emit('error', toServiceError(err));
      return undefined;
    }
    s[slot]?.end();
    s[slot] = call;
    const detach = () => {
      if (s[slot] === call) s[slot] = undefined;
    };
    call.on('cancelled', detach);
    call.on('close', detach);
    call.on('error', detach);
    return s;
  }

  private assignments(call: ServerWritableStream<AssignmentsRequest, AssignmentsMessage>): void {
    const s = this.attachStream(call, 'stream');
    if (!s) return;
    s.disconnectedAt = undefined;
    call.on('cancelled', () => {
      if (this.sessions.get(s.nodeId) === s && s.stream === undefined) s.disconnectedAt = this.now();
    });
    this.assignmentStreams.open(s, call);
  }

  /** Networks and every host's lease: the full set now and after every change. */
  private networks(call: ServerWritableStream<NetworksRequest, NetworksMessage>): void {
    if (this.attachStream(call, 'networkStream')) call.write(this.networksMessage());
  }

  private networksMessage(): NetworksMessage {
    return { networks: [...this.state.networks.values()], leases: [...this.state.leases.values()] };
  }

  private scheduleNetworksPush(): void {
    if (this.networksPushScheduled) return;
    this.networksPushScheduled = true;
    setImmediate(() => {
      this.networksPushScheduled = false;
      const msg = this.networksMessage();
      for (const s of this.sessions.values()) s.networkStream?.write(msg);
    });
  }

  /** The node is the one its certificate names: security/authz.ts puts that id on the request. */
  private async renewCertificate(
    req: RenewCertificateRequest & { nodeId?: string },
  ): Promise<RenewCertificateResponse> {
    const security = this.opts.security;
    if (!security) throw unimplemented('this manager issues no certificates');
    const nodeId = req.nodeId ?? '';
    if (!nodeId) throw invalidArgument('no node identity');
    return security.renew(nodeId, req.csrPem);
  }

  /**
   * Tells every connected agent the roots to trust now and to renew its certificate (a CA
   * rotation started or ended); the agents answer with RenewCertificate.
   */
  pushCa(caPem: string, only?: ReadonlySet<string>): void {
    for (const s of this.sessions.values())
      if (!only || only.has(s.nodeId))
        s.stream?.write({
          kind: AssignmentsMessage_Kind.INCREMENTAL, // nothing added or removed
          tasks: [],
          removedTaskIds: [],
          secrets: [],
          configs: [],
          renewCertificate: true,
          caPem,
          registryCredentials: [],
        });
  }

  // ------------------------------------------------------------ sessions

  private observe(c: Change): void {
    if (c.kind === 'network' || c.kind === 'lease') {
      this.scheduleNetworksPush();
      return;
    }
    if (c.kind === 'node' && !c.after) {
      // A removed node: its agent's session ends (it may register again as a new node).
      const s = this.sessions.get(c.id);
      if (s) this.endSession(s);
      return;
    }
    if (c.kind === 'task') this.assignmentStreams.taskChanged(c.before, c.after);
  }

  /** Ends every stream of a session (the agent opens new ones with its next session). */
  private endStreams(s: Session): void {
    s.stream?.end();
    s.networkStream?.end();
    this.endpointStreams.endFor(s.nodeId);
  }

  private endSession(s: Session): void {
    this.endStreams(s);
    this.sessions.delete(s.nodeId);
  }
}

function tokenMatches(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** "ipv4:10.213.0.11:53412" -> "10.213.0.11" */
function peerAddress(peer: string): string {
  const p = peer.replace(/^ipv[46]:/, '');
  const m = /^\[?(.*?)\]?:\d+$/.exec(p);
  return m ? m[1]! : p;
}
