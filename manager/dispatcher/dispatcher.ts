// Agent-facing gRPC: registration, heartbeats, the assignment stream and batched status
// reports. Sessions live in memory; only node status changes (ready/down) are written.
import { randomUUID, timingSafeEqual } from 'node:crypto';
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
  Task,
  UpdateTaskStatusRequest,
  UpdateTaskStatusResponse,
} from '../../proto/gen/shoal.js';
import { AssignmentsMessage_Kind, Availability, NodeStatus } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import { TaskState } from '../../proto/task-state.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { ApiError, alreadyExists, invalidArgument, toServiceError, unary, unauthenticated } from '../errors.js';
import { status } from '@grpc/grpc-js';

/** A node is down after this many missed heartbeat periods. */
export const MISSED_HEARTBEATS_FOR_DOWN = 3;
/**
 * After a manager starts leading, nodes get this long to reconnect before they can be
 * marked down: an agent's reconnect backoff reaches 1 s (plus a 1 s connect timeout per
 * dead address), and a new leader must not reschedule the work of nodes that are fine.
 */
export const STARTUP_GRACE_MS = 5_000;
const HEARTBEAT_CHECK_MS = 100;

export interface DispatcherOptions {
  joinToken: string;
  heartbeatPeriodMs: number;
  now?: () => number;
  log?: (line: string) => void;
}

interface Session {
  id: string;
  nodeId: string;
  lastBeat: number;
  stream?: ServerWritableStream<AssignmentsRequest, AssignmentsMessage>;
  networkStream?: ServerWritableStream<NetworksRequest, NetworksMessage>;
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

  constructor(
    private readonly state: ClusterState,
    private readonly opts: DispatcherOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.startedAt = this.now();
    state.onChange((c) => this.observe(c));
  }

  start(): void {
    const period = this.opts.heartbeatPeriodMs;
    // Checking often costs O(nodes) per tick and makes "down" exact to HEARTBEAT_CHECK_MS.
    this.monitor = setInterval(() => this.checkHeartbeats(), Math.min(HEARTBEAT_CHECK_MS, Math.max(20, Math.floor(period / 4))));
    this.monitor.unref();
  }

  close(): void {
    if (this.monitor) clearInterval(this.monitor);
    for (const s of this.sessions.values()) {
      s.stream?.end();
      s.networkStream?.end();
    }
    this.sessions.clear();
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
      endpoints: (call) => call.emit('error', { code: status.UNIMPLEMENTED, details: 'endpoints are not available yet' }),
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
          throw alreadyExists(`a node named "${hostname}" is already connected (node ${sameName.id}); give this agent another --name`);
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
    old?.stream?.end();
    old?.networkStream?.end();
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
    return { nodeId: id, sessionId: session.id, heartbeatPeriodMs: this.opts.heartbeatPeriodMs };
  }

  async heartbeat(req: HeartbeatRequest): Promise<HeartbeatResponse> {
    const s = this.session(req.nodeId, req.sessionId);
    s.lastBeat = this.now();
    const node = this.state.nodes.get(s.nodeId);
    if (node && node.status !== NodeStatus.READY) {
      this.state.putNode({ ...node, status: NodeStatus.READY, statusMessage: '', updatedAtMs: s.lastBeat });
      this.log(`node ${node.description?.hostname} is ready again`);
    }
    return { heartbeatPeriodMs: this.opts.heartbeatPeriodMs };
  }

  async updateTaskStatus(req: UpdateTaskStatusRequest): Promise<UpdateTaskStatusResponse> {
    const s = this.session(req.nodeId, req.sessionId);
    const now = this.now();
    for (const u of req.updates) {
      const task = this.state.tasks.get(u.taskId);
      if (!task || task.nodeId !== s.nodeId || !u.status) continue;
      const cur = task.status;
      const next = u.status;
      if (cur && next.state < cur.state) continue; // never backwards
      if (cur && next.state === cur.state && next.containerId === cur.containerId && next.err === cur.err && next.message === cur.message) continue;
      this.state.putTask({ ...task, status: { ...next, timestampMs: now } });
    }
    return {};
  }

  /**
   * Makes `call` the session's stream in `slot` (ending the one it replaces) and forgets it
   * when it ends. Returns the session, or undefined after answering an unknown session.
   */
  private attachStream<K extends 'stream' | 'networkStream'>(call: NonNullable<Session[K]>, slot: K): Session | undefined {
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
        s.stream?.end();
        s.networkStream?.end();
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

  // ------------------------------------------------------------ health

  private downAfterMs(): number {
    return this.opts.heartbeatPeriodMs * MISSED_HEARTBEATS_FOR_DOWN;
  }

  private checkHeartbeats(): void {
    const now = this.now();
    for (const node of this.state.nodes.values()) {
      if (node.status === NodeStatus.DOWN) continue;
      const session = this.sessions.get(node.id);
      const last = session?.lastBeat ?? this.startedAt;
      const allowed = session ? this.downAfterMs() : Math.max(this.downAfterMs(), STARTUP_GRACE_MS);
      if (now - last < allowed) continue;
      this.state.putNode({
        ...node,
        status: NodeStatus.DOWN,
        statusMessage: `no heartbeat for ${((now - last) / 1000).toFixed(1)}s`,
        updatedAtMs: now,
      });
      this.log(`node ${node.description?.hostname} is down (no heartbeat for ${now - last} ms)`);
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

