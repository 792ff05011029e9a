// The agent's lifecycle: ask the engine what this host is, list the containers it already
// runs, then hold one session at a time with one of the managers, forever.
//
//   new --start()--> running --close()--> stopping --> stopped   (proto/lifecycle.ts)
//
// Connection loop over the --manager addresses (several managers, one leader serves agents):
//   - an attempt that fails (refused, no connection within 1 s, or UNAVAILABLE "not the
//     leader" from a follower) moves to the next address at once;
//   - only after a whole round failed: back off, 100 ms doubling to 1 s, jittered (a
//     cockatiel retry of whole rounds, backoff.ts);
//   - a session that worked and then broke (the leader died or stalled, or stepped down)
//     moves to the next address at once, and its round starts there; a manager that only
//     forgot the session (NOT_FOUND) is asked again after a short pause.
// The tasks and their containers are untouched meanwhile: a partitioned agent keeps running
// them, and reports what happened once it is connected again.
import { setTimeout as sleep } from 'node:timers/promises';
import { credentials, Metadata, status as GrpcStatus, type ChannelCredentials } from '@grpc/grpc-js';
import { handleType, handleWhen, retry } from 'cockatiel';
import type { LifecycleState } from '../proto/lifecycle.js';
import { MANAGER_CHANNEL_OPTIONS } from '../proto/pki/grpc-tls.js';
import {
  AssignmentsMessage_Kind,
  DispatcherClient,
  type AssignmentsMessage,
  type NodeDescription,
} from '../proto/gen/shoal.js';
import { BACKOFF_BASE_MS, BACKOFF_MAX_MS, backoffMs, JitteredBackoff, retryUntilAborted } from './backoff.js';
import type { Clock } from '../proto/clock.js';
import type { EngineDescription, Executor } from './exec/executor.js';
import { errorMessage } from './exec/errors.js';
import { silentLog, type Log } from './log.js';
import { StatusReporter } from './reporter.js';
import { Session, toSessionError, type EndpointsFollower, type SessionError, type SessionInfo } from './session.js';
import { Worker, type TaskObserver } from './worker.js';
import { LogFollower } from './logs/follower.js';
import { logReaderFor, type LogReader } from './logs/docker.js';
import type { NetworkController } from './network/controller.js';
import { CLIENT_MESSAGE_LIMITS } from '../proto/limits.js';

/** Longest delay between tries of an engine that is not up yet (one log line each). */
const ENGINE_RETRY_MAX_MS = 5_000;
/** On stop, wait this long for the last status reports to reach the manager. */
const DRAIN_ON_STOP_MS = 1_000;

export interface AgentOptions {
  /** HOST:PORT of every manager, tried in turn. */
  managers: string[];
  joinToken: string;
  hostname: string;
  /** Engine labels (--label K=V). */
  labels: Record<string, string>;
  executor: Executor;
  /** A node id kept from an earlier run, if any. */
  nodeId?: string;
  /** Called when the manager gives a node id different from the one held (to keep it). */
  onNodeId?: (nodeId: string) => void | Promise<void>;
  log?: Log;
  random?: () => number;
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** Tests: the worker's first retry delay for transient engine errors. */
  retryMinMs?: number;
  /** Overlay networks on this host (none: the Networks stream is not followed). Not closed here. */
  network?: NetworkController;
  /** Discovery: follows the Endpoints stream in every session (none: not followed). */
  endpoints?: EndpointsFollower;
  /** Told what this host's tasks do (discovery's asker map and local fast path). */
  taskObserver?: TaskObserver;
  /** The node's certificate: the channels' mutual TLS, and what the manager says about roots. */
  identity?: AgentIdentity;
  /** The manager refused this node for good (node rm): the agent stops trying. */
  onRemoved?: (message: string) => void;
  /** Tests: a client per address (default: a grpc-js client with the identity's credentials). */
  connect?: (address: string) => DispatcherClient;
  /** Tests: the session's CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Tests: the sessions' and the status reporter's timers. */
  clock?: Clock;
  /** Reads tasks' container logs (`service logs`); default: the Docker executor's engine. */
  logReader?: LogReader;
}

/** A pause the agent takes before trying again (logs, tests). */
export interface BackoffEvent {
  /** 'managers': before the next round of addresses; 'engine': before asking the engine again. */
  what: 'managers' | 'engine';
  /** 1 for the first pause of a streak of failures. */
  attempt: number;
  delayMs: number;
}

/** What one attempt with one manager came to. */
interface Attempt {
  /** The manager sent assignments: it is a working manager (the session then ended). */
  established: boolean;
  /** It ended because the manager forgot the session (it is alive). */
  forgotten: boolean;
}

/** A whole round of addresses failed: the retry policy backs off before the next. */
class RoundFailed extends Error {
  override name = 'RoundFailed';
}

/** What the agent needs of its certificate (identity.ts). */
export interface AgentIdentity {
  credentials(): ChannelCredentials;
  rootsChanged(caPem: string): void;
}

export class Agent {
  private _state: LifecycleState = 'new';
  private readonly opts: AgentOptions;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly reporter: StatusReporter;
  private readonly worker: Worker;
  private readonly logs: LogFollower;
  private readonly abort = new AbortController();
  private readonly backoffListeners = new Set<(e: BackoffEvent) => void>();
  private nodeIdValue: string;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private registered: ((info: SessionInfo) => void)[] = [];
  /** The client of the session under way (certificate renewals go through it). */
  private activeClient: DispatcherClient | undefined;

  constructor(opts: AgentOptions) {
    if (opts.managers.length === 0) throw new Error('agent needs at least one manager address');
    this.opts = opts;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.nodeIdValue = opts.nodeId ?? '';
    this.reporter = new StatusReporter({ log: this.log, ...(opts.clock !== undefined && { clock: opts.clock }) });
    this.worker = new Worker({
      executor: opts.executor,
      reporter: this.reporter,
      ...(opts.taskObserver !== undefined && { observer: opts.taskObserver }),
      log: this.log,
      ...(opts.retryMinMs !== undefined && { retryMinMs: opts.retryMinMs }),
    });
    this.logs = new LogFollower({ reader: opts.logReader ?? logReaderFor(opts.executor), log: this.log });
  }

  get state(): LifecycleState {
    return this._state;
  }

  /** The node id the manager gave (empty until the first registration). */
  get nodeId(): string {
    return this.nodeIdValue;
  }

  /** Begin: engine first, then managers. Returns at once; the loop runs until close(). */
  start(): void {
    if (this._state !== 'new') throw new Error(`agent cannot start: it is ${this._state}`);
    this._state = 'running';
    this.loop = this.run(this.abort.signal).catch((err: unknown) => {
      this.log(`agent: stopped on an unexpected error: ${errorMessage(err)}`);
    });
  }

  /** Resolves with the next successful registration (tests, and start-up logs). */
  nextRegistration(): Promise<SessionInfo> {
    return new Promise((resolve) => this.registered.push(resolve));
  }

  /** Call `listener` before every pause between tries; returns its unsubscribe. */
  onBackoff(listener: (e: BackoffEvent) => void): () => void {
    this.backoffListeners.add(listener);
    return () => this.backoffListeners.delete(listener);
  }

  /** Stop (idempotent): runners end, last reports are sent, the session closes. Containers stay. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const wasRunning = this._state === 'running';
    this._state = 'stopping';
    if (wasRunning) {
      await this.worker.close();
      await this.reporter.drain(DRAIN_ON_STOP_MS);
    }
    this.abort.abort();
    this.logs.close();
    await this.loop;
    await this.reporter.close();
    this._state = 'stopped';
    this.log('agent: stopped');
  }

  // ----------------------------------------------------------------

  private async run(signal: AbortSignal): Promise<void> {
    const engine = await this.engine(signal);
    if (engine === undefined) return;
    this.log(
      `agent: engine ${engine.engineVersion} ${engine.os}/${engine.arch}, ` +
        `${engine.resources.nanoCpus / 1e9} CPU, ${Math.round(engine.resources.memoryBytes / 2 ** 20)} MiB`,
    );
    const description = this.describe(engine);

    const { managers } = this.opts;
    const maxMs = this.opts.backoffMaxMs ?? BACKOFF_MAX_MS;
    // One try of every address is a round; only a round in which every address failed backs off.
    const rounds = retry(handleType(RoundFailed), {
      maxAttempts: Infinity,
      backoff: new JitteredBackoff({
        baseMs: this.baseMs(),
        maxMs,
        random: this.random,
      }),
    });
    rounds.onRetry(({ attempt, delay }) => {
      if (attempt === 1)
        this.log(
          `agent: no manager took the session (${managers.length} tried); trying again, rounds at most ${maxMs} ms apart`,
        );
      this.backedOff({ what: 'managers', attempt, delayMs: delay });
    });

    let index = 0;
    /** The last failure logged per address: one line per change, not per attempt. */
    const lastLogged = new Map<string, string>();
    while (!signal.aborted) {
      const ended = await retryUntilAborted(rounds, signal, async (s) => {
        for (let tried = 0; tried < managers.length; tried++) {
          const address = managers[index % managers.length] ?? '';
          const attempt = await this.attempt(address, description, s, lastLogged);
          if (s.aborted || attempt.established) return attempt;
          index++; // failed: the next address at once
        }
        throw new RoundFailed('no manager took the session');
      });
      if (ended === undefined || signal.aborted) break;
      if (ended.forgotten) {
        // Same manager, short pause: it is alive, only the session is gone.
        await sleep(backoffMs(0, this.random, this.opts.backoffBaseMs, this.opts.backoffMaxMs), undefined, {
          signal,
        }).catch(() => {});
        continue;
      }
      index++; // a session that worked and broke: the next address at once, a new round there
    }
  }

  /** Ask the engine what this host is and list its containers, until it answers. */
  private async engine(signal: AbortSignal): Promise<EngineDescription | undefined> {
    const policy = retry(
      handleWhen(() => this._state === 'running'),
      {
        maxAttempts: Infinity,
        backoff: new JitteredBackoff({ baseMs: this.baseMs(), maxMs: ENGINE_RETRY_MAX_MS, random: this.random }),
      },
    );
    policy.onRetry((e) => {
      const why = 'error' in e ? errorMessage(e.error) : 'no answer';
      this.log(`agent: engine: ${why} (retrying in ${Math.round(e.delay)} ms)`);
      this.backedOff({ what: 'engine', attempt: e.attempt, delayMs: e.delay });
    });
    try {
      return await retryUntilAborted(policy, signal, async () => {
        const engine = await this.opts.executor.describe();
        await this.worker.start();
        return engine;
      });
    } catch (err) {
      if (this._state !== 'running') return undefined; // stopping: not worth a retry
      throw err;
    }
  }

  /** One session with one manager, from Register until it ends; logs what it came to. */
  private async attempt(
    address: string,
    description: NodeDescription,
    signal: AbortSignal,
    lastLogged: Map<string, string>,
  ): Promise<Attempt> {
    const client = this.connect(address);
    const session = new Session({
      client,
      joinToken: this.opts.joinToken,
      nodeId: this.nodeIdValue,
      description,
      reporter: this.reporter,
      log: this.log,
      random: this.random,
      ...(this.opts.connectTimeoutMs !== undefined && { connectTimeoutMs: this.opts.connectTimeoutMs }),
      ...(this.opts.clock !== undefined && { clock: this.opts.clock }),
      onAssignments: (msg) => {
        if (msg.renewCertificate) this.opts.identity?.rootsChanged(msg.caPem);
        if (isNoticeOnly(msg)) return;
        this.worker.handle(msg);
      },
      onRegistered: (info) => this.onRegistered(info, address),
      ...(this.opts.endpoints !== undefined && { endpoints: this.opts.endpoints }),
      logs: this.logs,
      ...(this.opts.network !== undefined && {
        onNetworks: (msg, nodeId) => void this.opts.network?.handle(msg, nodeId),
        onNetworksUnsupported: () => this.opts.network?.setUnsupported(),
      }),
    });
    let ended: SessionError | undefined;
    this.activeClient = client;
    try {
      await session.run(signal);
    } catch (err) {
      ended = toSessionError(err, 'session');
    } finally {
      if (this.activeClient === client) this.activeClient = undefined;
      client.close();
    }
    if (ended?.code === GrpcStatus.PERMISSION_DENIED && /removed from the cluster/.test(ended.message)) {
      this.log(`agent: ${ended.message}`);
      this.opts.onRemoved?.(ended.message);
    }
    const result = { established: session.established, forgotten: ended?.forgotten ?? false };
    if (signal.aborted) return result;
    const why = ended?.message ?? 'ended';
    if (session.established) {
      lastLogged.clear();
      this.log(`agent: session with ${address} ended: ${why}`);
    } else if (lastLogged.get(address) !== why) {
      lastLogged.set(address, why);
      this.log(`agent: ${address}: ${why}`);
      if (ended !== undefined && !ended.retryable)
        this.log('agent: the manager refused this node; retrying in case that changes');
    }
    return result;
  }

  private baseMs(): number {
    return this.opts.backoffBaseMs ?? BACKOFF_BASE_MS;
  }

  private backedOff(e: BackoffEvent): void {
    for (const l of [...this.backoffListeners]) l(e);
  }

  private onRegistered(info: SessionInfo, address: string): void {
    this.log(`agent: registered with ${address} as node ${info.nodeId} (heartbeat ${info.heartbeatPeriodMs} ms)`);
    if (info.nodeId !== this.nodeIdValue) {
      this.nodeIdValue = info.nodeId;
      Promise.resolve(this.opts.onNodeId?.(info.nodeId)).catch((err: unknown) => {
        this.log(`agent: keeping node id failed: ${errorMessage(err)}`);
      });
    }
    const waiters = this.registered;
    this.registered = [];
    for (const w of waiters) w(info);
  }

  private describe(engine: EngineDescription): NodeDescription {
    return {
      hostname: this.opts.hostname,
      resources: engine.resources,
      labels: this.opts.labels,
      engineVersion: engine.engineVersion,
      os: engine.os,
      arch: engine.arch,
      address: '',
    };
  }

  private connect(address: string): DispatcherClient {
    if (this.opts.connect) return this.opts.connect(address);
    // A fresh channel per attempt: grpc-js' own reconnect backoff (up to 120 s) would
    // otherwise hide a manager that is back.
    return new DispatcherClient(address, this.opts.identity?.credentials() ?? credentials.createInsecure(), {
      ...CLIENT_MESSAGE_LIMITS,
      'grpc.enable_http_proxy': 0,
      ...MANAGER_CHANNEL_OPTIONS,
    });
  }

  /** RenewCertificate over the session under way (the node's identity calls it). */
  renewCertificate(csrPem: string): Promise<{ certPem: string; caPem: string }> {
    const client = this.activeClient;
    if (!client) return Promise.reject(new Error('not connected to a manager'));
    return new Promise((resolve, reject) =>
      client.renewCertificate({ csrPem }, new Metadata(), { deadline: Date.now() + RENEW_TIMEOUT_MS }, (err, res) =>
        err ? reject(new Error(err.details || err.message)) : resolve(res),
      ),
    );
  }
}

const RENEW_TIMEOUT_MS = 10_000;

/** A message that only tells the agent about its certificate (no task, secret or config in it). */
function isNoticeOnly(msg: AssignmentsMessage): boolean {
  return (
    msg.kind === AssignmentsMessage_Kind.INCREMENTAL &&
    msg.tasks.length === 0 &&
    msg.removedTaskIds.length === 0 &&
    msg.secrets.length === 0 &&
    msg.configs.length === 0
  );
}
