// The agent's lifecycle: ask the engine what this host is, list the containers it already
// runs, then hold one session at a time with one of the managers, forever.
//
//   starting --start()--> running --close()--> stopping --> stopped
//
// Connection loop: try the managers in turn. A session that never got its assignments
// counts as a failed attempt: move to the next address and back off (100 ms doubling to
// 5 s, jittered). A session that worked and then broke retries the same manager at once.
import { credentials } from '@grpc/grpc-js';
import { DispatcherClient, type NodeDescription } from '../proto/gen/shoal.js';
import type { EngineDescription, Executor } from './exec/executor.js';
import { errorMessage } from './exec/errors.js';
import { silentLog, type Log } from './log.js';
import { StatusReporter } from './reporter.js';
import { Session, toSessionError, type SessionInfo } from './session.js';
import { Worker } from './worker.js';

export type AgentState = 'starting' | 'running' | 'stopping' | 'stopped';

/** First reconnect delay: a manager restart is usually over within a few of these. */
export const BACKOFF_BASE_MS = 100;
/** Longest reconnect delay: a returning manager is found within 5 s. */
export const BACKOFF_MAX_MS = 5_000;
/** On stop, wait this long for the last status reports to reach the manager. */
const DRAIN_ON_STOP_MS = 1_000;

/** Delay before attempt n (0-based): doubling from base to max, then "equal jitter". */
export function backoffMs(attempt: number, random: () => number, baseMs = BACKOFF_BASE_MS, maxMs = BACKOFF_MAX_MS): number {
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
  /** Tests: a client per address (default: insecure grpc-js client). */
  connect?: (address: string) => DispatcherClient;
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
    let attempt = 0;
    while (!signal.aborted) {
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
        onAssignments: (msg) => this.worker.handle(msg),
        onRegistered: (info) => this.onRegistered(info, address),
      });
      try {
        await session.run(signal);
      } catch (err) {
        const e = toSessionError(err, 'session');
        this.log(`agent: session with ${address} ended: ${e.message}`);
        if (!e.retryable) this.log('agent: the manager refused the join token; retrying in case it changes');
      } finally {
        client.close();
      }
      if (signal.aborted) break;
      if (session.established) {
        attempt = 0;
      } else {
        index++;
        attempt++;
      }
      await sleep(backoffMs(attempt, this.random, this.opts.backoffBaseMs, this.opts.backoffMaxMs), signal);
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
        const delay = backoffMs(attempt, this.random, this.opts.backoffBaseMs, this.opts.backoffMaxMs);
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
