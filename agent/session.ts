// One session with one manager (swarmkit's agent/session.go):
//
//   Register(join token, node id if known, description) -> node id, session id, period
//     |-- Heartbeat every period +-10 % (the response may change the period)
//     |-- Assignments stream -> worker.handle(COMPLETE first, then INCREMENTAL)
//     |-- Networks stream -> network controller; Endpoints stream -> discovery (neither
//     |   ends the session when it fails: each is opened again); LogSubscriptions likewise
//     |   (agent/logs/: `service logs` requests, answered on PublishLogs streams)
//     '-- reporter.attach(UpdateTaskStatus through this session)
//
// Any error on the heartbeats or the stream (NOT_FOUND/FAILED_PRECONDITION: the manager
// forgot the session; UNAVAILABLE: it is gone, or is not the leader) ends the session; the
// agent then registers again with the same node id and gets a fresh COMPLETE set.
//
// Heartbeats stay on this gRPC session, not on NATS: the manager that holds the session is
// the one that decides a node is down, and a NATS outage must not make healthy nodes look
// down. A manager that crashed fails the calls at once; one that stalls (partitioned, frozen)
// is noticed by the heartbeat deadline, two periods.
import {
  connectivityState,
  Metadata,
  status as GrpcStatus,
  type ClientUnaryCall,
  type ServiceError,
} from '@grpc/grpc-js';
import type {
  AssignmentsMessage,
  DispatcherClient,
  HeartbeatResponse,
  NetworksMessage,
  NodeDescription,
  RegisterResponse,
  TaskStatusUpdate,
  UpdateTaskStatusResponse,
} from '../proto/gen/shoal.js';
import { systemClock, type Cancel, type Clock } from '../proto/clock.js';
import { silentLog, type Log } from './log.js';
import type { StatusReporter, StatusSender } from './reporter.js';

/** Used when a manager answers with no period; the manager's own default is 1 s. */
export const DEFAULT_HEARTBEAT_MS = 1_000;
/** +-10 %: agents that started together do not beat in step. */
const HEARTBEAT_JITTER = 0.1;
/**
 * A manager whose connection (TCP and HTTP/2 handshake) is not up in this long is taken as
 * unreachable: on a LAN it takes milliseconds; a partitioned or frozen host never answers.
 * A refused connection fails at once.
 */
export const CONNECT_TIMEOUT_MS = 1_000;
/** A manager that is connected but does not answer Register in this long is taken as down. */
const REGISTER_TIMEOUT_MS = 5_000;
/** A broken Networks stream (the session still works) is opened again after this long. */
export const NETWORKS_RETRY_MS = 2_000;
/** UpdateTaskStatus deadline: the manager batches store writes every ~100 ms. */
const REPORT_TIMEOUT_MS = 5_000;

/** Heartbeat deadline: two periods, within [1 s, 5 s], so a dead manager is noticed soon. */
export function heartbeatTimeoutMs(periodMs: number): number {
  return Math.min(5_000, Math.max(1_000, 2 * periodMs));
}

/** Codes by which the manager says "this session is not (or no longer) valid". */
const SESSION_GONE = new Set([GrpcStatus.NOT_FOUND, GrpcStatus.FAILED_PRECONDITION]);

/** A gRPC failure on the dispatcher, converted once here. */
export class SessionError extends Error {
  override name = 'SessionError';
  /** Worth trying again (after re-registering): everything but a refused join. */
  readonly retryable: boolean;
  constructor(
    message: string,
    readonly code: GrpcStatus | undefined,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
    this.retryable = code !== GrpcStatus.UNAUTHENTICATED && code !== GrpcStatus.PERMISSION_DENIED;
  }

  /** The manager no longer knows the session (or cannot be reached): re-register. */
  get sessionGone(): boolean {
    return this.code === undefined || SESSION_GONE.has(this.code) || this.code === GrpcStatus.UNAVAILABLE;
  }

  /** The manager answered that it forgot the session: it is alive, register with it again. */
  get forgotten(): boolean {
    return this.code !== undefined && SESSION_GONE.has(this.code);
  }
}

export function toSessionError(err: unknown, what: string): SessionError {
  if (err instanceof SessionError) return err;
  if (isServiceError(err)) {
    const name = GrpcStatus[err.code] ?? String(err.code);
    // grpc-js appends a multi-line "Resolution note" to connection errors: keep one line.
    const details = (err.details || err.message).replace(/\s*Resolution note:[\s\S]*$/, '').split('\n')[0];
    return new SessionError(`${what}: ${name}: ${details}`, err.code, { cause: err });
  }
  return new SessionError(`${what}: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err });
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/**
 * Follows the Endpoints stream (discovery) while a session lasts (agent/discovery/
 * subscription.ts). Like Networks, its failure never ends the session.
 */
export interface EndpointsFollower {
  /** Open the stream for this session; the returned function closes it. */
  follow(client: DispatcherClient, ids: { nodeId: string; sessionId: string }): () => void;
}

export interface SessionInfo {
  nodeId: string;
  sessionId: string;
  heartbeatPeriodMs: number;
}

export interface SessionOptions {
  client: DispatcherClient;
  joinToken: string;
  /** Empty when this agent has no node id yet. */
  nodeId: string;
  description: NodeDescription;
  onAssignments: (msg: AssignmentsMessage) => void;
  onRegistered?: (info: SessionInfo) => void;
  /**
   * When set, the Networks stream is followed too (each message the full set). It never
   * ends the session: a failed stream is opened again after NETWORKS_RETRY_MS.
   */
  onNetworks?: (msg: NetworksMessage, nodeId: string) => void;
  /** The manager answered Networks with UNIMPLEMENTED (it has no networks). */
  onNetworksUnsupported?: () => void;
  /** When set, the Endpoints stream (discovery) is followed too. */
  endpoints?: EndpointsFollower;
  /** When set, the LogSubscriptions stream (`service logs`, agent/logs/) is followed too. */
  logs?: EndpointsFollower;
  reporter: StatusReporter;
  log?: Log;
  random?: () => number;
  /** Tests: CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
  /** Heartbeat, connect and retry timers, and the time a report was acknowledged. */
  clock?: Clock;
}

export class Session {
  private readonly opts: SessionOptions;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly clock: Clock;
  private readonly calls = new Set<ClientUnaryCall>();
  /** close(): ends the run as an abort of its signal would. */
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private assignmentsSeen = 0;

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.clock = opts.clock ?? systemClock;
  }

  /** True once the manager sent assignments: it is a working manager. */
  get established(): boolean {
    return this.assignmentsSeen > 0;
  }

  /**
   * Register, then heartbeat and follow the assignments until the session fails (rejects
   * with a SessionError), or `signal` aborts or close() is called (resolves). Runs once: a
   * second call returns the same promise.
   */
  run(signal: AbortSignal): Promise<void> {
    this.running ??= this.runOnce(AbortSignal.any([signal, this.stop.signal]));
    return this.running;
  }

  /** End the session (idempotent); resolves once run() has returned. */
  async close(): Promise<void> {
    this.stop.abort();
    await this.running?.catch(() => {});
  }

  private async runOnce(signal: AbortSignal): Promise<void> {
    if (signal.aborted) return;
    const { client } = this.opts;
    const onAbort = () => this.cancelCalls();
    signal.addEventListener('abort', onAbort, { once: true });
    let info: SessionInfo;
    let cancelConnectTimer: Cancel | undefined;
    try {
      const registering = this.unary<RegisterResponse>(
        'Register',
        (md, deadline, cb) =>
          client.register(
            { joinToken: this.opts.joinToken, nodeId: this.opts.nodeId, description: this.opts.description },
            md,
            { deadline },
            cb,
          ),
        REGISTER_TIMEOUT_MS,
      );
      registering.catch(() => {}); // cancelled below when the connection does not come up
      // The call fails at once when the connection is refused; when it merely hangs (nothing
      // answers at that address), give up after CONNECT_TIMEOUT_MS, not the call's deadline.
      const connectTimeoutMs = this.opts.connectTimeoutMs ?? CONNECT_TIMEOUT_MS;
      const unreachable = new Promise<never>((_, reject) => {
        cancelConnectTimer = this.clock.after(connectTimeoutMs, () => {
          if (client.getChannel().getConnectivityState(false) === connectivityState.READY) return;
          reject(new SessionError(`connect: no connection within ${connectTimeoutMs} ms`, GrpcStatus.UNAVAILABLE));
          this.cancelCalls();
        });
      });
      const res = await Promise.race([registering, unreachable]);
      info = {
        nodeId: res.nodeId,
        sessionId: res.sessionId,
        heartbeatPeriodMs: res.heartbeatPeriodMs > 0 ? res.heartbeatPeriodMs : DEFAULT_HEARTBEAT_MS,
      };
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    } finally {
      cancelConnectTimer?.();
      signal.removeEventListener('abort', onAbort);
    }
    if (signal.aborted) return;
    this.opts.onRegistered?.(info);
    return this.follow(info, signal);
  }

  private follow(info: SessionInfo, signal: AbortSignal): Promise<void> {
    const { client, reporter } = this.opts;
    const ids = { nodeId: info.nodeId, sessionId: info.sessionId };
    return new Promise<void>((resolve, reject) => {
      let ended = false;
      let period = info.heartbeatPeriodMs;
      let cancelBeat: Cancel | undefined;

      let stopEndpoints: (() => void) | undefined; // eslint-disable-line prefer-const -- set after end() is declared, which it uses
      let stopLogs: (() => void) | undefined; // eslint-disable-line prefer-const -- likewise
      const end = (err?: SessionError) => {
        if (ended) return;
        ended = true;
        cancelBeat?.();
        signal.removeEventListener('abort', onAbort);
        reporter.detach(sender);
        stream.removeAllListeners();
        stream.on('error', () => {}); // cancel() makes the stream emit CANCELLED
        stream.cancel();
        stopNetworks();
        stopEndpoints?.();
        stopLogs?.();
        this.cancelCalls();
        if (err === undefined) resolve();
        else reject(err);
      };
      const onAbort = () => end();
      signal.addEventListener('abort', onAbort, { once: true });

      const stream = client.assignments(ids);
      stream.on('data', (msg: AssignmentsMessage) => {
        if (ended) return;
        this.assignmentsSeen++;
        try {
          this.opts.onAssignments(msg);
        } catch (err) {
          this.log(`session: applying assignments failed: ${err instanceof Error ? err.message : String(err)}`);
        }
      });
      stream.on('error', (err: unknown) => end(toSessionError(err, 'Assignments')));
      stream.on('end', () => end(new SessionError('Assignments: stream ended by the manager', undefined)));

      // Networks: a stream of its own; its failure never ends the session (tasks that join
      // no network must not notice), it is only opened again.
      let networks: ReturnType<DispatcherClient['networks']> | undefined;
      let cancelNetworksRetry: Cancel | undefined;
      let networksErr = '';
      const stopNetworks = () => {
        cancelNetworksRetry?.();
        const n = networks;
        networks = undefined;
        if (n === undefined) return;
        n.removeAllListeners();
        n.on('error', () => {});
        n.cancel();
      };
      const openNetworks = () => {
        const onNetworks = this.opts.onNetworks;
        if (ended || onNetworks === undefined) return;
        const call = client.networks(ids);
        networks = call;
        const broken = (err: SessionError) => {
          if (ended || networks !== call) return;
          networks = undefined;
          call.removeAllListeners();
          call.on('error', () => {});
          if (err.code === GrpcStatus.UNIMPLEMENTED) {
            this.opts.onNetworksUnsupported?.();
            return;
          }
          if (err.message !== networksErr)
            this.log(`session: ${err.message} (opening it again in ${NETWORKS_RETRY_MS} ms)`);
          networksErr = err.message;
          cancelNetworksRetry = this.clock.after(NETWORKS_RETRY_MS, openNetworks);
        };
        call.on('data', (msg: NetworksMessage) => {
          if (ended || networks !== call) return;
          networksErr = '';
          try {
            onNetworks(msg, info.nodeId);
          } catch (err) {
            this.log(`session: applying networks failed: ${err instanceof Error ? err.message : String(err)}`);
          }
        });
        call.on('error', (err: unknown) => broken(toSessionError(err, 'Networks')));
        call.on('end', () => broken(new SessionError('Networks: stream ended by the manager', undefined)));
      };
      openNetworks();
      // Endpoints (discovery): a stream of its own too, reopened by the follower.
      stopEndpoints = this.opts.endpoints?.follow(client, ids);
      stopLogs = this.opts.logs?.follow(client, ids);

      // A status report the manager acknowledged counts as a heartbeat there (it proves the
      // session alive), so while reports flow no separate Heartbeat call is made: at 1,000
      // nodes placing work that is up to 1,000 calls a second fewer on both sides.
      let lastReportAckAt = -Infinity;
      const beat = (delayMs?: number) => {
        const jitter = 1 + HEARTBEAT_JITTER * (2 * this.random() - 1);
        cancelBeat = this.clock.after(delayMs ?? period * jitter, () => {
          if (ended) return;
          const sinceReport = this.clock.now() - lastReportAckAt;
          if (sinceReport < period) {
            beat(Math.max(1, period * jitter - sinceReport));
            return;
          }
          this.unary<HeartbeatResponse>(
            'Heartbeat',
            (md, deadline, cb) => client.heartbeat(ids, md, { deadline }, cb),
            heartbeatTimeoutMs(period),
          ).then(
            (res) => {
              if (ended) return;
              if (res.heartbeatPeriodMs > 0) period = res.heartbeatPeriodMs;
              beat();
            },
            (err: unknown) => end(toSessionError(err, 'Heartbeat')),
          );
        });
      };
      beat();

      const sender: StatusSender = async (updates: TaskStatusUpdate[]) => {
        try {
          await this.unary<UpdateTaskStatusResponse>(
            'UpdateTaskStatus',
            (md, deadline, cb) => client.updateTaskStatus({ ...ids, updates }, md, { deadline }, cb),
            REPORT_TIMEOUT_MS,
          );
          lastReportAckAt = this.clock.now();
        } catch (err) {
          const e = toSessionError(err, 'UpdateTaskStatus');
          if (e.sessionGone) end(e);
          throw e;
        }
      };
      reporter.attach(sender);
    });
  }

  private unary<Res>(
    what: string,
    start: (md: Metadata, deadline: Date, cb: (err: ServiceError | null, res: Res) => void) => ClientUnaryCall,
    timeoutMs: number,
  ): Promise<Res> {
    return new Promise<Res>((resolve, reject) => {
      const call = start(new Metadata(), new Date(Date.now() + timeoutMs), (err, res) => {
        this.calls.delete(call);
        if (err) reject(toSessionError(err, what));
        else resolve(res);
      });
      this.calls.add(call);
    });
  }

  private cancelCalls(): void {
    for (const call of this.calls) call.cancel();
    this.calls.clear();
  }
}
