// The agent's lifecycle: ask the engine what this host is, list the containers it already
// runs, then hold one session at a time with one of the managers, forever.
//
//   starting --start()--> running --close()--> stopping --> stopped
//
// Connection loop over the --manager addresses (several managers, one leader serves agents):
//   - an attempt that fails (refused, no connection within 1 s, or UNAVAILABLE "not the
//     leader" from a follower) moves to the next address at once;
//   - only after a whole round failed: back off, 100 ms doubling to 1 s, jittered;
//   - a session that worked and then broke (the leader died or stalled, or stepped down)
//     moves to the next address at once, and its round starts there; a manager that only
//     forgot the session (NOT_FOUND) is asked again after a short pause.
// The tasks and their containers are untouched meanwhile: a partitioned agent keeps running
// them, and reports what happened once it is connected again.
import { credentials } from '@grpc/grpc-js';
import { DispatcherClient, type NodeDescription } from '../proto/gen/shoal.js';
import type { EngineDescription, Executor } from './exec/executor.js';
import { errorMessage } from './exec/errors.js';
import { silentLog, type Log } from './log.js';
import { StatusReporter } from './reporter.js';
import { Session, toSessionError, type EndpointsFollower, type SessionError, type SessionInfo } from './session.js';
import { Worker, type TaskObserver } from './worker.js';
import type { NetworkController } from './network/controller.js';

export type AgentState = 'starting' | 'running' | 'stopping' | 'stopped';

/** First delay after a failed round: a manager restart is usually over within a few of these. */
export const BACKOFF_BASE_MS = 100;
/**
 * Longest delay between rounds: a new leader is found within ~1 s of its election (the
 * cluster recovers in seconds); the jitter spreads a thousand agents over that second.
 */
export const BACKOFF_MAX_MS = 1_000;
/** Longest delay between tries of an engine that is not up yet (one log line each). */
const ENGINE_RETRY_MAX_MS = 5_000;
/** On stop, wait this long for the last status reports to reach the manager. */
const DRAIN_ON_STOP_MS = 1_000;

/** Delay before attempt n (0-based): doubling from base to max, then "equal jitter". */
export function backoffMs(
  attempt: number,
  random: () => number,
  baseMs = BACKOFF_BASE_MS,
  maxMs = BACKOFF_MAX_MS,
): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + (ceiling / 2) * random();
}

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
  /** Overlay networks on this host (none: the Networks stream is not followed). */
  network?: NetworkController;
  /** Discovery: follows the Endpoints stream in every session (none: not followed). */
  endpoints?: EndpointsFollower;
  /** Told what this host's tasks do (discovery's asker map and local fast path). */
  taskObserver?: TaskObserver;
  /** Tests: a client per address (default: insecure grpc-js client). */
  connect?: (address: string) => DispatcherClient;
  /** Tests: the session's CONNECT_TIMEOUT_MS. */
  connectTimeoutMs?: number;
}

export class Agent {
  private _state: AgentState = 'starting';
  private readonly opts: AgentOptions;
  private readonly log: Log;
  private readonly random: () => number;
  private readonly reporter: StatusReporter;
  private readonly worker: Worker;
  private readonly abort = new AbortController();
  private nodeIdValue: string;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private registered: ((info: SessionInfo) => void)[] = [];

  constructor(opts: AgentOptions) {
    if (opts.managers.length === 0) throw new Error('agent needs at least one manager address');
    this.opts = opts;
    this.log = opts.log ?? silentLog;
    this.random = opts.random ?? Math.random;
    this.nodeIdValue = opts.nodeId ?? '';
    this.reporter = new StatusReporter({ log: this.log });
    this.worker = new Worker({
      executor: opts.executor,
      reporter: this.reporter,
      ...(opts.taskObserver !== undefined && { observer: opts.taskObserver }),
      log: this.log,
      ...(opts.retryMinMs !== undefined && { retryMinMs: opts.retryMinMs }),
    });
  }

  get state(): AgentState {
    return this._state;
  }

  /** The node id the manager gave (empty until the first registration). */
  get nodeId(): string {
    return this.nodeIdValue;
  }

  /** Begin: engine first, then managers. Resolves at once; the loop runs until close(). */
  start(): void {
    if (this._state !== 'starting') throw new Error(`agent cannot start: it is ${this._state}`);
    this._state = 'running';
    this.loop = this.run(this.abort.signal).catch((err: unknown) => {
      this.log(`agent: stopped on an unexpected error: ${errorMessage(err)}`);
    });
  }

  /** Resolves with the next successful registration (tests, and start-up logs). */
  nextRegistration(): Promise<SessionInfo> {
    return new Promise((resolve) => this.registered.push(resolve));
  }

  /** Stop: runners end, last reports are sent, the session closes. Containers stay. */
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
    this.opts.network?.close();
    await this.loop;
    this.reporter.close();
    this._state = 'stopped';
    this.log('agent: stopped');
  }

  // ----------------------------------------------------------------

  private async run(signal: AbortSignal): Promise<void> {
    const engine = await this.retry('engine', signal, async () => {
      const engine = await this.opts.executor.describe();
      await this.worker.start();
      return engine;
    });
    if (engine === undefined) return;
    this.log(
      `agent: engine ${engine.engineVersion} ${engine.os}/${engine.arch}, ` +
        `${engine.resources.nanoCpus / 1e9} CPU, ${Math.round(engine.resources.memoryBytes / 2 ** 20)} MiB`,
    );
    const description = this.describe(engine);

    const { managers } = this.opts;
    let index = 0;
    /** Failed attempts since the round began; a round is one try of every address. */
    let failed = 0;
    /** Rounds in a row in which every address failed: the backoff's exponent. */
    let rounds = 0;
    let delayMs = 0;
    /** The last failure logged per address: one line per change, not per attempt. */
    const lastLogged = new Map<string, string>();
    while (!signal.aborted) {
      if (delayMs > 0) await sleep(delayMs, signal);
      if (signal.aborted) break;
      const address = managers[index % managers.length] ?? '';
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
        onAssignments: (msg) => this.worker.handle(msg),
        onRegistered: (info) => this.onRegistered(info, address),
        ...(this.opts.endpoints !== undefined && { endpoints: this.opts.endpoints }),
        ...(this.opts.network !== undefined && {
          onNetworks: (msg, nodeId) => void this.opts.network?.handle(msg, nodeId),
          onNetworksUnsupported: () => this.opts.network?.setUnsupported(),
        }),
      });
      let ended: SessionError | undefined;
      try {
        await session.run(signal);
      } catch (err) {
        ended = toSessionError(err, 'session');
      } finally {
        client.close();
      }
      if (signal.aborted) break;
      const why = ended?.message ?? 'ended';
      if (session.established) {
        lastLogged.clear();
        this.log(`agent: session with ${address} ended: ${why}`);
      } else if (lastLogged.get(address) !== why) {
        lastLogged.set(address, why);
        this.log(`agent: ${address}: ${why}`);
        if (ended !== undefined && !ended.retryable)
          this.log('agent: the manager refused the join token; retrying in case it changes');
      }

      if (session.established) {
        rounds = 0;
        failed = 0;
        if (ended?.forgotten) {
          delayMs = backoffMs(0, this.random, this.opts.backoffBaseMs, this.opts.backoffMaxMs);
          continue; // same manager, short pause: it is alive, only the session is gone
        }
        index++;
        delayMs = 0;
        continue;
      }
      index++;
      failed++;
      if (failed < managers.length) {
        delayMs = 0;
        continue;
      }
      failed = 0;
      if (rounds === 0)
        this.log(
          `agent: no manager took the session (${managers.length} tried); trying again, rounds at most ${this.opts.backoffMaxMs ?? BACKOFF_MAX_MS} ms apart`,
        );
      delayMs = backoffMs(rounds++, this.random, this.opts.backoffBaseMs, this.opts.backoffMaxMs);
    }
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
    return new DispatcherClient(address, credentials.createInsecure());
  }

  /** Run fn until it succeeds or signal aborts (undefined then), backing off between tries. */
  private async retry<T>(what: string, signal: AbortSignal, fn: () => Promise<T>): Promise<T | undefined> {
    for (let attempt = 0; !signal.aborted; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this._state !== 'running') return undefined;
        const delay = backoffMs(attempt, this.random, this.opts.backoffBaseMs, ENGINE_RETRY_MAX_MS);
        this.log(`agent: ${what}: ${errorMessage(err)} (retrying in ${Math.round(delay)} ms)`);
        await sleep(delay, signal);
      }
    }
    return undefined;
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
