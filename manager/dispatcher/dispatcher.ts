// Agent-facing gRPC: registration, heartbeats, the assignment stream, batched status
// reports, networks, and discovery (the Endpoints stream, fed by the endpoint catalog).
// Sessions live in memory; only node status changes (ready/down) are written.
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type {
  AssignmentsMessage,
  AssignmentsRequest,
  DispatcherServer,
  EndpointsMessage,
  EndpointsRequest,
  ServiceEndpoints,
  HeartbeatRequest,
  HeartbeatResponse,
  NetworksMessage,
  NetworksRequest,
  Node,
  RegisterRequest,
  RegisterResponse,
  Task,
  UpdateTaskStatusRequest,
  UpdateTaskStatusResponse,
} from '../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind, Availability, NodeStatus, PublishMode } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import { TaskState, canTransition } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import type { EndpointView } from '../discovery/view.js';
import {
  ApiError,
  alreadyExists,
  invalidArgument,
  toServiceError,
  unary,
  unauthenticated,
  unavailable,
} from '../errors.js';
import { status } from '@grpc/grpc-js';

/** A node is down after this many missed heartbeat periods. */
export const MISSED_HEARTBEATS_FOR_DOWN = 3;
/**
 * After a manager starts leading, nodes get this long to reconnect before they can be
 * marked down: an agent's reconnect backoff reaches 1 s (plus a 1 s connect timeout per
 * dead address), and a new leader must not reschedule the work of nodes that are fine.
 */
export const STARTUP_GRACE_MS = 5_000;
/**
 * A node whose agent closed its connection (an agent restart: its containers keep running)
 * is down only after this long without a new session, not after 3 missed heartbeats: the
 * agent process needs a moment to start again, and its host is fine.
 */
export const RECONNECT_GRACE_MS = 5_000;
const HEARTBEAT_CHECK_MS = 100;
/**
 * Heartbeat calls the leader takes per second at most, over all nodes (Nomad's
 * max_heartbeats_per_second): with more nodes than the configured period allows, every
 * agent is told a longer period (1,000 nodes: 1 s; 5,000: 5 s). Detection then takes longer
 * in proportion, and the leader's heartbeat work stays bounded.
 */
export const MAX_HEARTBEATS_PER_S = 1_000;
/**
 * A check that runs this much later than planned means the manager's event loop was held
 * (a long pass, a GC): heartbeats that arrived meanwhile are still queued behind the timer,
 * so that check marks nothing down; the next one, after I/O, sees them.
 */
const STALLED_CHECK_MS = 500;
/** While the endpoint catalog has not loaded yet, new Endpoints streams are looked at this often. */
const CATALOG_WAIT_MS = 50;

export interface DispatcherOptions {
  joinToken: string;
  heartbeatPeriodMs: number;
  now?: () => number;
  log?: (line: string) => void;
  /** Discovery's catalog; without it the Endpoints stream answers UNAVAILABLE. */
  endpoints?: EndpointView;
}

type EndpointsCall = ServerDuplexStream<EndpointsRequest, EndpointsMessage>;

/** One agent's Endpoints stream: the names it watches and what is queued for it. */
interface EndpointStream {
  call: EndpointsCall;
  nodeId: string;
  watched: Set<string>;
  queued: Set<string>;
  sendNames: boolean;
  /** false until the first message (names + everything subscribed) went out */
  started: boolean;
  flushScheduled: boolean;
  closed: boolean;
}

/** A service every agent gets without asking: it has a port published on the routing mesh. */
export function hasIngressPorts(se: ServiceEndpoints): boolean {
  return se.exists && se.ports.some((p) => p.publishMode === PublishMode.INGRESS && p.publishedPort > 0);
}

interface Session {
  id: string;
  nodeId: string;
  lastBeat: number;
  /**
   * When the agent closed its assignments stream (its process stopped or restarted: the
   * host's kernel ended the connection) and none replaced it. Such a node gets
   * RECONNECT_GRACE_MS to come back; a silent one (a partitioned or dead host) does not.
   */
  disconnectedAt?: number;
  stream?: ServerWritableStream<AssignmentsRequest, AssignmentsMessage>;
  networkStream?: ServerWritableStream<NetworksRequest, NetworksMessage>;
  endpointStream?: EndpointStream;
  /** what the agent was last sent per task: `${desiredState}/${specVersion}` */
  sent: Map<string, string>;
  queuedUpdates: Map<string, Task>;
  queuedRemovals: Set<string>;
  flushScheduled: boolean;
}

function sentKey(t: Task): string {
  return `${t.desiredState}/${t.specVersion}`;
}

/** Tasks the agent must know about: assigned to it by the scheduler (or later). */
function isAssigned(t: Task): boolean {
  return (t.status?.state ?? TaskState.NEW) >= TaskState.ASSIGNED;
}

export class Dispatcher {
  private readonly sessions = new Map<string, Session>();
  private readonly now: () => number;
  private readonly log: (line: string) => void;
  private readonly startedAt: number;
  private networksPushScheduled = false;
  private monitor: NodeJS.Timeout | undefined;
  private lastCheckAt = performance.now();
  /** The heartbeat period agents are told (see heartbeatPeriodMs()). */
  private periodMs: number;
  // discovery
  private readonly view: EndpointView | undefined;
  private readonly endpointStreams = new Set<EndpointStream>();
  /** name -> the streams that asked for it */
  private readonly watchers = new Map<string, Set<EndpointStream>>();
  /** names with ingress-published ports (every stream gets them); undefined until the catalog loaded */
  private ingress: Set<string> | undefined;
  private lastNames: string[] = [];
  private readonly waitingForCatalog = new Set<EndpointStream>();
  private catalogTimer: NodeJS.Timeout | undefined;
  private stopViewListener: (() => void) | undefined;
  private readonly stopStateListener: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly opts: DispatcherOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.startedAt = this.now();
    this.periodMs = opts.heartbeatPeriodMs;
    this.view = opts.endpoints;
    this.stopStateListener = state.onChange((c) => this.observe(c));
    if (this.view) this.stopViewListener = this.view.onChange((name) => this.endpointsChanged(name));
  }

  start(): void {
    const period = this.opts.heartbeatPeriodMs;
    // Checking often costs O(nodes) per tick and makes "down" exact to HEARTBEAT_CHECK_MS.
    this.lastCheckAt = performance.now();
    this.monitor = setInterval(
      () => this.checkHeartbeats(),
      Math.min(HEARTBEAT_CHECK_MS, Math.max(20, Math.floor(period / 4))),
    );
    this.monitor.unref();
  }

  close(): void {
    if (this.monitor) clearInterval(this.monitor);
    if (this.catalogTimer) clearInterval(this.catalogTimer);
    this.stopStateListener();
    this.stopViewListener?.();
    for (const s of this.sessions.values()) this.endStreams(s);
    for (const e of [...this.endpointStreams]) this.endEndpointStream(e);
    this.sessions.clear();
  }

  /** Ends every stream of a session (the agent opens new ones with its next session). */
  private endStreams(s: Session): void {
    s.stream?.end();
    s.networkStream?.end();
    if (s.endpointStream) this.endEndpointStream(s.endpointStream);
  }

  /** Agents with an open Endpoints stream (for tests and logs). */
  endpointStreamCount(): number {
    return this.endpointStreams.size;
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
      endpoints: (call) => this.endpoints(call),
    };
  }

  // ------------------------------------------------------------ handlers

  async register(req: RegisterRequest, peer: string): Promise<RegisterResponse> {
    if (!tokenMatches(req.joinToken, this.opts.joinToken)) throw unauthenticated('invalid join token');
    const hostname = req.description?.hostname ?? '';
    if (!hostname) throw invalidArgument('node description has no hostname');
    const now = this.now();
    let node = req.nodeId ? this.state.nodes.get(req.nodeId) : undefined;
    if (!node) {
      const sameName = [...this.state.nodes.values()].find((n) => n.description?.hostname === hostname);
      if (sameName) {
        const live = this.sessions.get(sameName.id);
        if (live && req.nodeId !== sameName.id && now - live.lastBeat < this.downAfterMs()) {
          throw alreadyExists(
            `a node named "${hostname}" is already connected (node ${sameName.id}); give this agent another --name`,
          );
        }
        node = sameName;
      }
    }
    const id = node?.id ?? (req.nodeId || newId());
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
    const session: Session = {
      id: randomUUID(),
      nodeId: id,
      lastBeat: now,
      sent: new Map(),
      queuedUpdates: new Map(),
      queuedRemovals: new Set(),
      flushScheduled: false,
    };
    this.sessions.set(id, session);
    this.log(`node ${hostname} (${id}) registered from ${updated.description!.address}`);
    return { nodeId: id, sessionId: session.id, heartbeatPeriodMs: this.heartbeatPeriodMs() };
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    this.beat(this.session(req.nodeId, req.sessionId), this.now());
    return { heartbeatPeriodMs: this.heartbeatPeriodMs() };
  }

  /**
   * The period agents are told: the configured one, longer once there are more live
   * sessions than MAX_HEARTBEATS_PER_S allows. It only grows while this dispatcher lives, so
   * an agent still on an earlier (shorter) period is never judged by a shorter window.
   */
  heartbeatPeriodMs(): number {
    const needed = Math.ceil((this.sessions.size * 1000) / MAX_HEARTBEATS_PER_S);
    if (needed > this.periodMs) this.periodMs = needed;
    return this.periodMs;
  }

  /** The agent of a live session was heard from (a Heartbeat, or a status report). */
  private beat(s: Session, now: number): void {
    s.lastBeat = now;
    const node = this.state.nodes.get(s.nodeId);
    if (node && node.status !== NodeStatus.READY) {
      this.state.putNode({ ...node, status: NodeStatus.READY, statusMessage: '', updatedAtMs: now });
      this.log(`node ${node.description?.hostname} is ready again`);
    }
  }

  async updateTaskStatus(req: UpdateTaskStatusRequest): Promise<UpdateTaskStatusResponse> {
    const s = this.session(req.nodeId, req.sessionId);
    const now = this.now();
    // A report is a heartbeat too: the agent skips its Heartbeat call while reports flow.
    this.beat(s, now);
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
      s = this.session(call.request.nodeId, call.request.sessionId);
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
    s.sent.clear();
    s.queuedUpdates.clear();
    s.queuedRemovals.clear();
    const tasks = this.state.tasksOnNode(s.nodeId).filter(isAssigned);
    for (const t of tasks) s.sent.set(t.id, sentKey(t));
    call.write({ kind: AssignmentsMessage_Kind.COMPLETE, tasks, removedTaskIds: [] });
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

  // ------------------------------------------------------------ pushing changes

  private observe(c: Change): void {
    if (c.kind === 'network' || c.kind === 'lease') {
      this.scheduleNetworksPush();
      return;
    }
    if (c.kind === 'node' && !c.after) {
      // A removed node: its agent's session ends (it may register again as a new node).
      const s = this.sessions.get(c.id);
      if (s) {
        this.endStreams(s);
        this.sessions.delete(c.id);
      }
      return;
    }
    if (c.kind !== 'task') return;
    const before = c.before;
    const after = c.after;
    // A task that moved away from a node (should not happen) or was deleted.
    if (before?.nodeId && (!after || after.nodeId !== before.nodeId)) this.queueRemoval(before.nodeId, before.id);
    if (!after || !after.nodeId || !isAssigned(after)) return;
    const s = this.sessions.get(after.nodeId);
    if (!s?.stream) return;
    if (s.sent.get(after.id) === sentKey(after)) return; // the agent already knows this
    s.sent.set(after.id, sentKey(after));
    s.queuedRemovals.delete(after.id);
    s.queuedUpdates.set(after.id, after);
    this.scheduleFlush(s);
  }

  private queueRemoval(nodeId: string, taskId: string): void {
    const s = this.sessions.get(nodeId);
    if (!s?.stream || !s.sent.has(taskId)) return;
    s.sent.delete(taskId);
    s.queuedUpdates.delete(taskId);
    s.queuedRemovals.add(taskId);
    this.scheduleFlush(s);
  }

  /** Everything changed in one tick goes out in one message. */
  private scheduleFlush(s: Session): void {
    if (s.flushScheduled) return;
    s.flushScheduled = true;
    setImmediate(() => {
      s.flushScheduled = false;
      if (!s.stream || (s.queuedUpdates.size === 0 && s.queuedRemovals.size === 0)) return;
      s.stream.write({
        kind: AssignmentsMessage_Kind.INCREMENTAL,
        tasks: [...s.queuedUpdates.values()],
        removedTaskIds: [...s.queuedRemovals],
      });
      s.queuedUpdates.clear();
      s.queuedRemovals.clear();
    });
  }

  // ------------------------------------------------------------ discovery (Endpoints)

  /**
   * The agent's discovery stream. Its first request names node and session (and may
   * watch names); later requests watch and unwatch names. The first message carries every
   * service name and the answer for each subscribed name (watched ones and every service
   * with ingress-published ports); after that, a message per tick of changes, with each
   * changed name's complete ServiceEndpoints, and the names again when they changed.
   */
  private endpoints(call: EndpointsCall): void {
    let stream: EndpointStream | undefined;
    call.on('data', (req: EndpointsRequest) => {
      if (stream) {
        if (!stream.closed) this.updateWatches(stream, req);
        return;
      }
      if (!this.view) {
        call.emit('error', toServiceError(unavailable('discovery is not available on this manager')));
        return;
      }
      let s: Session;
      try {
        s = this.session(req.nodeId, req.sessionId);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      if (s.endpointStream) this.endEndpointStream(s.endpointStream);
      stream = {
        call,
        nodeId: s.nodeId,
        watched: new Set(),
        queued: new Set(),
        sendNames: true,
        started: false,
        flushScheduled: false,
        closed: false,
      };
      s.endpointStream = stream;
      this.endpointStreams.add(stream);
      this.updateWatches(stream, req);
      if (this.view.loaded) this.startEndpointStream(stream);
      else this.waitForCatalog(stream);
    });
    const detach = () => {
      if (stream) this.forgetEndpointStream(stream);
    };
    call.on('end', () => {
      detach();
      call.end();
    });
    call.on('cancelled', detach);
    call.on('close', detach);
    call.on('error', detach);
  }

  private updateWatches(stream: EndpointStream, req: EndpointsRequest): void {
    for (const name of req.unwatch) {
      if (!stream.watched.delete(name)) continue;
      const set = this.watchers.get(name);
      set?.delete(stream);
      if (set?.size === 0) this.watchers.delete(name);
      stream.queued.delete(name);
    }
    for (const name of req.watch) {
      if (!name) continue;
      if (stream.watched.has(name)) {
        // Asked again (the agent dropped what it had): answer again.
        if (stream.started) this.queueName(stream, name);
        continue;
      }
      stream.watched.add(name);
      let set = this.watchers.get(name);
      if (!set) this.watchers.set(name, (set = new Set()));
      set.add(stream);
      // Answered at once, even when the agent gets it anyway (ingress): it asked.
      if (stream.started) this.queueName(stream, name);
    }
  }

  private waitForCatalog(stream: EndpointStream): void {
    this.waitingForCatalog.add(stream);
    if (this.catalogTimer) return;
    this.catalogTimer = setInterval(() => {
      if (!this.view?.loaded) return;
      clearInterval(this.catalogTimer);
      this.catalogTimer = undefined;
      for (const s of this.waitingForCatalog) if (!s.closed) this.startEndpointStream(s);
      this.waitingForCatalog.clear();
    }, CATALOG_WAIT_MS);
    this.catalogTimer.unref();
  }

  /** The first message: every name, and each subscribed name's endpoints. */
  private startEndpointStream(stream: EndpointStream): void {
    const view = this.view!;
    const ingress = this.ingressNames();
    const names = new Set<string>([...stream.watched, ...ingress]);
    stream.started = true;
    stream.sendNames = false;
    stream.queued.clear();
    this.lastNames = view.serviceNames();
    stream.call.write({
      services: [...names].map((n) => view.lookup(n)),
      hasServiceNames: true,
      serviceNames: this.lastNames,
    });
  }

  /** The catalog applied a change of `name`: queue it for every stream subscribed to it. */
  private endpointsChanged(name: string): void {
    const view = this.view!;
    const names = view.serviceNames();
    if (names !== this.lastNames && names.join('\n') !== this.lastNames.join('\n')) {
      // The set of names changed: every agent needs it (a service was created or removed).
      this.lastNames = names;
      for (const s of this.endpointStreams) {
        if (!s.started) continue;
        s.sendNames = true;
        this.scheduleEndpointFlush(s);
      }
    } else this.lastNames = names;
    if (this.ingress) {
      const was = this.ingress.has(name);
      // Per batch of endpoint changes: must not build the service's whole endpoint list.
      const is = view.publishesIngress ? view.publishesIngress(name) : hasIngressPorts(view.lookup(name));
      if (is) this.ingress.add(name);
      else this.ingress.delete(name);
      if (was || is) {
        // Every agent routes it (or did until now, and must hear that it stopped).
        for (const s of this.endpointStreams) this.queueName(s, name);
        return;
      }
    }
    for (const s of this.watchers.get(name) ?? []) this.queueName(s, name);
  }

  /** The names every stream gets without asking; computed from the catalog once, then kept up to date. */
  private ingressNames(): Set<string> {
    if (!this.ingress) {
      const view = this.view!;
      this.ingress = new Set(view.serviceNames().filter((n) => hasIngressPorts(view.lookup(n))));
    }
    return this.ingress;
  }

  private queueName(stream: EndpointStream, name: string): void {
    if (!stream.started || stream.closed) return;
    stream.queued.add(name);
    this.scheduleEndpointFlush(stream);
  }

  /** All of one tick's changes go out in one message; a name changed twice is sent once. */
  private scheduleEndpointFlush(stream: EndpointStream): void {
    if (stream.flushScheduled) return;
    stream.flushScheduled = true;
    setImmediate(() => {
      stream.flushScheduled = false;
      if (stream.closed || (stream.queued.size === 0 && !stream.sendNames)) return;
      const view = this.view!;
      const msg: EndpointsMessage = {
        services: [...stream.queued].map((n) => view.lookup(n)),
        hasServiceNames: stream.sendNames,
        serviceNames: stream.sendNames ? view.serviceNames() : [],
      };
      stream.queued.clear();
      stream.sendNames = false;
      stream.call.write(msg);
    });
  }

  private forgetEndpointStream(stream: EndpointStream): void {
    if (stream.closed) return;
    stream.closed = true;
    this.endpointStreams.delete(stream);
    this.waitingForCatalog.delete(stream);
    for (const name of stream.watched) {
      const set = this.watchers.get(name);
      set?.delete(stream);
      if (set?.size === 0) this.watchers.delete(name);
    }
    const s = this.sessions.get(stream.nodeId);
    if (s?.endpointStream === stream) s.endpointStream = undefined;
  }

  private endEndpointStream(stream: EndpointStream): void {
    const wasOpen = !stream.closed;
    this.forgetEndpointStream(stream);
    if (wasOpen) {
      try {
        stream.call.end();
      } catch {
        // already ended
      }
    }
  }

  // ------------------------------------------------------------ health

  private downAfterMs(): number {
    return this.periodMs * MISSED_HEARTBEATS_FOR_DOWN;
  }

  private checkHeartbeats(): void {
    const checkedAt = performance.now();
    const stalled = checkedAt - this.lastCheckAt > STALLED_CHECK_MS;
    this.lastCheckAt = checkedAt;
    if (stalled) return;
    const now = this.now();
    for (const node of this.state.nodes.values()) {
      if (node.status === NodeStatus.DOWN) continue;
      const session = this.sessions.get(node.id);
      const last = session?.lastBeat ?? this.startedAt;
      const allowed = !session
        ? Math.max(this.downAfterMs(), STARTUP_GRACE_MS)
        : session.disconnectedAt !== undefined
          ? Math.max(this.downAfterMs(), RECONNECT_GRACE_MS)
          : this.downAfterMs();
      if (now - last < allowed) continue;
      this.state.putNode({
        ...node,
        status: NodeStatus.DOWN,
        statusMessage: `no heartbeat for ${((now - last) / 1000).toFixed(1)}s`,
        updatedAtMs: now,
      });
      this.log(`node ${node.description?.hostname} is down (no heartbeat for ${now - last} ms)`);
      // The session ends with it: a heartbeat held up in the network (a healed partition
      // delivers them late) must not bring the node back; the agent registers again.
      if (session) {
        this.endStreams(session);
        this.sessions.delete(node.id);
      }
    }
  }

  private session(nodeId: string, sessionId: string): Session {
    const s = this.sessions.get(nodeId);
    if (!s || s.id !== sessionId) throw new ApiError(status.NOT_FOUND, 'unknown session: register again');
    return s;
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
