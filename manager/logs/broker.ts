// The log broker (the leader's): `service logs` fans out to the agents that ran the tasks
// and their lines come back through here, so no host needs to be reachable from the CLI.
//
//   CLI --ServiceLogs--> broker --LogSubscription (one per node)--> agent (LogSubscriptions)
//   CLI <--lines, sources, warnings-- broker <--PublishLogs (one per subscription)-- agent
//
// A node that is down, not connected, or silent gives one warning line and the stream goes
// on with the others; without --follow the stream ends once every node has finished (or
// timed out), so it never hangs. With --follow new tasks of the service are subscribed as
// they start (from the cluster state's changes) until the client cancels, and the cancel
// reaches the agents. The client's buffer is bounded: publishers are paused while it is full.
import { randomUUID } from 'node:crypto';
import { status, type sendUnaryData, type ServerReadableStream, type ServerWritableStream } from '@grpc/grpc-js';
import type {
  LogLine,
  LogOptions,
  LogSource,
  LogSubscription,
  LogSubscriptionsRequest,
  PublishLogsMessage,
  PublishLogsResponse,
  ServiceLogsMessage,
  ServiceLogsRequest,
  Task,
} from '../../proto/gen/shoal.js';
import { NodeStatus } from '../../proto/gen/shoal.js';
import { TaskState } from '../../proto/task-state.js';
import { peerIdentity } from '../../proto/pki/grpc-tls.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { ApiError, notFound, toServiceError, unavailable } from '../errors.js';
import { resolveLogTarget, validateLogOptions } from './resolve.js';

/** An agent opens PublishLogs within milliseconds on a LAN: one silent this long does not answer. */
export const ANSWER_MS = 3_000;
/** Without --follow, a node that sent nothing for this long (a partitioned host) is given up. */
export const SILENCE_MS = 5_000;
/** Open subscriptions per node (each is a docker logs stream on the host). */
export const MAX_SUBSCRIPTIONS_PER_NODE = 64;
/** Messages queued for one client; past it, publishers pause (and, as a backstop, lines are dropped). */
export const MAX_QUEUED_MESSAGES = 256;
/** An agent's error text, at most (it is one warning line). */
const MAX_ERR_CHARS = 300;

export interface BrokerOptions {
  answerMs?: number;
  silenceMs?: number;
  maxQueued?: number;
  maxPerNode?: number;
  now?: () => number;
}

/** What the broker needs of the dispatcher's sessions: throws for a session that is not current. */
export interface SessionCheck {
  current(nodeId: string, sessionId: string): unknown;
}

type CliCall = ServerWritableStream<ServiceLogsRequest, ServiceLogsMessage>;
type AgentCall = ServerWritableStream<LogSubscriptionsRequest, LogSubscription>;
type PublishCall = ServerReadableStream<PublishLogsMessage, PublishLogsResponse>;

interface AgentLink {
  nodeId: string;
  call: AgentCall;
  subs: Set<Sub>;
}

interface Sub {
  id: string;
  nodeId: string;
  hostname: string;
  tasks: Map<string, Task>;
  req: LogRequest;
  link: AgentLink;
  publish?: { call: PublishCall; answer: () => void };
  timer?: NodeJS.Timeout;
  done: boolean;
}

/** One client's ServiceLogs call. */
interface LogRequest {
  call: CliCall;
  options: LogOptions;
  /** Followed for new tasks (only with --follow). */
  serviceId: string | undefined;
  subscribed: Set<string>;
  subs: Set<Sub>;
  sourcesSent: Set<string>;
  warned: Set<string>;
  dropped: number;
  paused: boolean;
  closed: boolean;
}

export class LogBroker {
  private readonly agents = new Map<string, AgentLink>();
  private readonly subs = new Map<string, Sub>();
  private readonly requests = new Set<LogRequest>();
  private readonly answerMs: number;
  private readonly silenceMs: number;
  private readonly maxQueued: number;
  private readonly maxPerNode: number;
  private readonly now: () => number;
  private readonly stopWatch: () => void;
  private closed = false;

  constructor(
    private readonly state: ClusterState,
    opts: BrokerOptions = {},
  ) {
    this.answerMs = opts.answerMs ?? ANSWER_MS;
    this.silenceMs = opts.silenceMs ?? SILENCE_MS;
    this.maxQueued = opts.maxQueued ?? MAX_QUEUED_MESSAGES;
    this.maxPerNode = opts.maxPerNode ?? MAX_SUBSCRIPTIONS_PER_NODE;
    this.now = opts.now ?? Date.now;
    this.stopWatch = state.onChange((c) => this.observe(c));
  }

  /** Open subscriptions (tests). */
  get openSubscriptions(): number {
    return this.subs.size;
  }

  /** Ends every client and agent stream (the term ended); idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopWatch();
    for (const req of [...this.requests]) {
      this.endRequest(req, unavailable('this manager stopped leading: run the command again'));
    }
    for (const link of this.agents.values()) link.call.end();
    this.agents.clear();
  }

  // ------------------------------------------------------------ agents

  /** Dispatcher.LogSubscriptions: the node's stream of requests, one per session. */
  subscriptions(call: AgentCall, sessions: SessionCheck): void {
    const { nodeId, sessionId } = call.request;
    try {
      if (this.closed) throw unavailable('this manager no longer leads');
      sessions.current(nodeId, sessionId);
    } catch (err) {
      call.emit('error', toServiceError(err));
      return;
    }
    const old = this.agents.get(nodeId);
    if (old) this.dropLink(old, 'reconnected');
    const link: AgentLink = { nodeId, call, subs: new Set() };
    this.agents.set(nodeId, link);
    const gone = () => this.dropLink(link, 'went away');
    call.on('cancelled', gone);
    call.on('close', gone);
    call.on('error', gone);
  }

  /**
   * Dispatcher.PublishLogs: the first message names node, session and subscription; the
   * node must be the certificate's (when there is one) and the subscription sent to it.
   */
  publish(call: PublishCall, callback: sendUnaryData<PublishLogsResponse>, sessions: SessionCheck): void {
    let sub: Sub | undefined;
    let answered = false;
    const answer = (err?: unknown) => {
      if (answered) return;
      answered = true;
      if (err === undefined) callback(null, {});
      else callback(toServiceError(err));
    };
    call.on('data', (msg: PublishLogsMessage) => {
      if (answered) return;
      if (!sub) {
        try {
          sub = this.claim(call, msg, sessions, answer);
        } catch (err) {
          answer(err);
          return;
        }
      }
      this.relay(sub, msg);
    });
    call.on('end', () => {
      if (sub && !sub.done) this.finishSub(sub);
      answer();
    });
    const broken = () => {
      if (sub && !sub.done) this.finishSub(sub, `node ${sub.hostname} stopped sending`);
      answered = true;
    };
    call.on('cancelled', broken);
    call.on('error', broken);
  }

  private claim(call: PublishCall, msg: PublishLogsMessage, sessions: SessionCheck, answer: () => void): Sub {
    const id = peerIdentity(call);
    if (id && id.id !== msg.nodeId)
      throw new ApiError(
        status.PERMISSION_DENIED,
        `this certificate is node ${id.id}'s: it cannot act as node ${msg.nodeId}`,
      );
    sessions.current(msg.nodeId, msg.sessionId);
    const sub = this.subs.get(msg.subscriptionId);
    if (!sub || sub.done) throw notFound(`log subscription ${msg.subscriptionId} is not open (cancelled or ended)`);
    if (sub.nodeId !== msg.nodeId)
      throw new ApiError(status.PERMISSION_DENIED, `log subscription ${sub.id} was not sent to node ${msg.nodeId}`);
    if (sub.publish) throw new ApiError(status.ALREADY_EXISTS, `log subscription ${sub.id} is already being answered`);
    sub.publish = { call, answer };
    if (sub.req.paused) call.pause();
    this.armTimer(sub);
    return sub;
  }

  private dropLink(link: AgentLink, why: string): void {
    if (this.agents.get(link.nodeId) === link) this.agents.delete(link.nodeId);
    for (const sub of [...link.subs]) this.finishSub(sub, `node ${sub.hostname} ${why}`);
  }

  // ------------------------------------------------------------ clients

  /** Control.ServiceLogs. */
  serve(call: CliCall): void {
    let req: LogRequest;
    let tasks: Task[];
    try {
      if (this.closed) throw unavailable('this manager no longer leads: run the command again');
      const options = validateLogOptions(call.request.options, this.now());
      const target = resolveLogTarget(this.state, call.request.ref);
      tasks = target.tasks;
      req = {
        call,
        options,
        serviceId: options.follow ? target.service?.id : undefined,
        subscribed: new Set(),
        subs: new Set(),
        sourcesSent: new Set(),
        warned: new Set(),
        dropped: 0,
        paused: false,
        closed: false,
      };
    } catch (err) {
      call.emit('error', toServiceError(err));
      return;
    }
    this.requests.add(req);
    const cancelled = () => this.endRequest(req);
    call.on('cancelled', cancelled);
    call.on('close', cancelled);
    call.on('error', cancelled);
    call.on('drain', () => this.resume(req));
    this.subscribe(req, tasks.filter(hasRun), req.options);
    this.checkDone(req);
  }

  /** Groups `tasks` by node: one subscription per node. */
  private subscribe(req: LogRequest, tasks: Task[], options: LogOptions): void {
    const byNode = new Map<string, Task[]>();
    for (const t of tasks) {
      if (req.subscribed.has(t.id)) continue;
      req.subscribed.add(t.id);
      const list = byNode.get(t.nodeId);
      if (list) list.push(t);
      else byNode.set(t.nodeId, [t]);
    }
    for (const [nodeId, list] of [...byNode].sort(([a], [b]) => a.localeCompare(b)))
      this.openSub(req, nodeId, list, options);
  }

  private openSub(req: LogRequest, nodeId: string, tasks: Task[], options: LogOptions): void {
    const node = this.state.nodes.get(nodeId);
    const hostname = node?.description?.hostname || nodeId;
    const link = this.agents.get(nodeId);
    if (!node) return this.warn(req, `node ${nodeId} was removed`);
    if (node.status === NodeStatus.DOWN) return this.warn(req, `node ${hostname} is down`);
    if (!link) return this.warn(req, `node ${hostname} is not connected`);
    if (link.subs.size >= this.maxPerNode)
      return this.warn(req, `node ${hostname} has too many log streams open (${this.maxPerNode})`);
    const sub: Sub = {
      id: randomUUID(),
      nodeId,
      hostname,
      tasks: new Map(tasks.map((t) => [t.id, t])),
      req,
      link,
      done: false,
    };
    this.subs.set(sub.id, sub);
    link.subs.add(sub);
    req.subs.add(sub);
    link.call.write({ id: sub.id, taskIds: [...sub.tasks.keys()], options, cancel: false });
    this.armTimer(sub);
  }

  /** Before PublishLogs: the answer deadline; after, without --follow, the silence deadline. */
  private armTimer(sub: Sub): void {
    clearTimeout(sub.timer);
    sub.timer = undefined;
    if (sub.publish && sub.req.options.follow) return;
    const ms = sub.publish ? this.silenceMs : this.answerMs;
    const why = sub.publish
      ? `node ${sub.hostname} sent nothing for ${ms / 1000}s`
      : `node ${sub.hostname} did not answer within ${ms / 1000}s`;
    sub.timer = setTimeout(() => this.cancelSub(sub, why), ms);
    sub.timer.unref?.();
  }

  private relay(sub: Sub, msg: PublishLogsMessage): void {
    if (sub.done) return;
    if (!sub.req.paused) this.armTimer(sub);
    const req = sub.req;
    const lines: LogLine[] = [];
    const sources: LogSource[] = [];
    for (const line of msg.lines) {
      const task = sub.tasks.get(line.taskId);
      if (!task) continue; // an agent publishes only for the tasks it was asked about
      if (!req.sourcesSent.has(task.id)) {
        req.sourcesSent.add(task.id);
        sources.push({
          taskId: task.id,
          serviceName: task.serviceName,
          slot: task.slot,
          nodeId: sub.nodeId,
          nodeHostname: sub.hostname,
        });
      }
      lines.push(line);
    }
    if (msg.err) this.warn(req, `${sub.hostname}: ${msg.err.slice(0, MAX_ERR_CHARS).replace(/\s+/g, ' ')}`);
    if (lines.length > 0) this.send(req, { lines, sources, warning: '' });
  }

  /** To the client, within its bound: while it is full, publishers pause; lines past the backstop are counted, then reported. */
  private send(req: LogRequest, msg: ServiceLogsMessage): void {
    if (req.closed) return;
    if (req.call.writableLength >= this.maxQueued) {
      // Sources are kept: a later line needs its task's name.
      if (msg.sources.length > 0) req.call.write({ lines: [], sources: msg.sources, warning: '' });
      req.dropped += msg.lines.length;
      this.pause(req);
      return;
    }
    if (req.dropped > 0) {
      req.call.write({
        lines: [],
        sources: [],
        warning: `warning: ${req.dropped} log lines dropped: this client reads too slowly`,
      });
      req.dropped = 0;
    }
    if (!req.call.write(msg)) this.pause(req);
  }

  private pause(req: LogRequest): void {
    if (req.paused) return;
    req.paused = true;
    for (const s of req.subs) {
      clearTimeout(s.timer); // a paused node is not silent
      s.publish?.call.pause();
    }
  }

  private resume(req: LogRequest): void {
    if (!req.paused || req.closed) return;
    req.paused = false;
    for (const s of req.subs) {
      s.publish?.call.resume();
      this.armTimer(s);
    }
  }

  /** One line per cause: `warning: incomplete log stream: node host3 is down`. */
  private warn(req: LogRequest, what: string): void {
    if (req.closed || req.warned.has(what)) return;
    req.warned.add(what);
    req.call.write({ lines: [], sources: [], warning: `warning: incomplete log stream: ${what}` });
  }

  /** Stops a subscription and tells its agent. */
  private cancelSub(sub: Sub, why?: string): void {
    if (sub.done) return;
    if (this.agents.get(sub.nodeId) === sub.link)
      sub.link.call.write({ id: sub.id, taskIds: [], options: undefined, cancel: true });
    this.finishSub(sub, why);
  }

  private finishSub(sub: Sub, why?: string): void {
    if (sub.done) return;
    sub.done = true;
    clearTimeout(sub.timer);
    this.subs.delete(sub.id);
    sub.link.subs.delete(sub);
    sub.req.subs.delete(sub);
    sub.publish?.answer();
    if (why !== undefined) this.warn(sub.req, why);
    this.checkDone(sub.req);
  }

  /** Without --follow, the stream ends once no subscription is open. */
  private checkDone(req: LogRequest): void {
    if (req.closed || req.options.follow || req.subs.size > 0) return;
    this.endRequest(req);
    req.call.end();
  }

  private endRequest(req: LogRequest, err?: ApiError): void {
    if (req.closed) return;
    req.closed = true;
    this.requests.delete(req);
    for (const sub of [...req.subs]) this.cancelSub(sub);
    if (err) req.call.emit('error', toServiceError(err));
  }

  // ------------------------------------------------------------ the cluster

  private observe(c: Change): void {
    if (c.kind === 'node' && c.after?.status === NodeStatus.DOWN && c.before?.status !== NodeStatus.DOWN) {
      const link = this.agents.get(c.id);
      if (link) this.dropLink(link, 'is down');
      return;
    }
    // A new task is subscribed once it runs (its container exists by then for sure).
    if (c.kind !== 'task' || !c.after || !hasRun(c.after) || (c.after.status?.state ?? 0) < TaskState.RUNNING) return;
    const task = c.after;
    for (const req of this.requests) {
      if (req.serviceId !== task.serviceId || req.subscribed.has(task.id)) continue;
      // A new task: all of its output (since --since), not only the tail.
      this.subscribe(req, [task], { ...req.options, tail: -1 });
    }
  }
}

/** Placed, and its container started at some point (it may have ended since). */
function hasRun(t: Task): boolean {
  const s = t.status?.state ?? TaskState.NEW;
  return t.nodeId !== '' && s >= TaskState.STARTING && s !== TaskState.REJECTED;
}

const brokers = new WeakMap<ClusterState, LogBroker>();

/**
 * The broker of a leader term: its dispatcher (the agents' side) and Control API (the
 * clients' side) share the term's ClusterState, and so one broker.
 */
export function logBroker(state: ClusterState): LogBroker {
  let b = brokers.get(state);
  if (!b) brokers.set(state, (b = new LogBroker(state)));
  return b;
}

/** Ends the term's broker, if it had one. */
export function closeLogBroker(state: ClusterState): void {
  brokers.get(state)?.close();
}
