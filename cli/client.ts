// The CLI's only door to the manager: promisified Control calls with a deadline, failover
// across several manager addresses, and gRPC errors converted once, here, to CliErrors.
import {
  type CallOptions,
  connectivityState,
  credentials,
  Metadata,
  type ServiceError,
  status,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  ControlClient,
  type Event,
  type EventsRequest,
  type ListManagersResponse,
  type ListNetworksResponse,
  type ListNodesResponse,
  type ListServicesResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type ManagerInfo,
  type Network,
  type NetworkDetail,
  type NetworkSpec,
  type Node,
  type RemoveNetworkResponse,
  type RemoveNodeResponse,
  type RemoveServiceResponse,
  type Service,
  type ServiceEndpoints,
  type ServiceSpec,
  type ServiceSummary,
  type Task,
  type UpdateNodeRequest,
} from '../proto/gen/shoal.js';
import { CliError, ManagerError, UnreachableError } from './errors.js';

const CALL_DEADLINE_MS = 10_000; // one answer from a healthy manager takes milliseconds
/**
 * How long one address gets to accept the connection and finish the HTTP/2 handshake before
 * the next is tried. A manager that is there does it in milliseconds; a host that does not
 * answer (or a stopped process) would otherwise cost the whole call deadline. An address
 * still connecting after this long is not given up: it gets the rest of the deadline once
 * the others have been tried (a loaded manager may be slow to answer).
 */
const CONNECT_MS = 1_000;
/**
 * A stream (`shoal events`) has no deadline: keepalive pings tell a manager that went
 * silent (host gone, link cut) from a quiet cluster, within KEEPALIVE_MS + its timeout.
 */
const KEEPALIVE_MS = 10_000;
const KEEPALIVE_TIMEOUT_MS = 5_000;
/**
 * An event stream that lasted this long (or delivered an event) was working: when it ends,
 * the other addresses are tried afresh. One that ends sooner counts as that address failing.
 */
const STREAM_STABLE_MS = 1_000;
/** Codes that another manager would answer the same way: the stream is not retried. */
const FINAL_STREAM_CODES: readonly status[] = [
  status.INVALID_ARGUMENT,
  status.NOT_FOUND,
  status.ALREADY_EXISTS,
  status.PERMISSION_DENIED,
  status.FAILED_PRECONDITION,
  status.OUT_OF_RANGE,
  status.UNIMPLEMENTED,
  status.UNAUTHENTICATED,
];

/** Where `ControlApi.events` delivers. */
export interface EventSink {
  event(e: Event): void;
  /** The stream from `from` ended and continues from `to` (events in between are missed). */
  failover(from: string, to: string, why: string): void;
}

/** What the commands need from the manager; GrpcControlApi in production, fakes in tests. */
export interface ControlApi {
  listNodes(): Promise<Node[]>;
  getNode(ref: string): Promise<Node>;
  updateNode(request: UpdateNodeRequest): Promise<Node>;
  createService(spec: ServiceSpec): Promise<Service>;
  getService(ref: string): Promise<Service>;
  listServices(): Promise<ServiceSummary[]>;
  scaleService(ref: string, replicas: number): Promise<Service>;
  removeService(ref: string): Promise<void>;
  listTasks(filter: Partial<ListTasksRequest>): Promise<Task[]>;
  listManagers(): Promise<ManagerInfo[]>;
  removeNode(ref: string, force: boolean): Promise<void>;
  createNetwork(spec: NetworkSpec): Promise<Network>;
  getNetwork(ref: string): Promise<NetworkDetail>;
  listNetworks(): Promise<NetworkDetail[]>;
  removeNetwork(ref: string): Promise<void>;
  /** A service's endpoints as discovery serves them; NOT_FOUND for an unknown name. */
  lookupService(name: string): Promise<ServiceEndpoints>;
  /**
   * Follows the cluster's events until `signal` aborts (then resolves). When the stream
   * ends otherwise, it continues on another address if one answers; when none does, rejects
   * with a CliError saying which stream ended and why.
   */
  events(request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<void>;
  close(): void;
}

type Callback<T> = (error: ServiceError | null, response: T) => void;
type Invoke<T> = (
  client: ControlClient,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<T>,
) => void;

class ChannelUnreachable extends Error {
  override name = 'ChannelUnreachable';
  constructor(
    message: string,
    /** True when the deadline passed while still connecting (as opposed to a failed attempt). */
    readonly timedOut: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
}

/**
 * Resolves once the client's channel is READY; rejects with ChannelUnreachable as soon as
 * a connection attempt fails (TRANSIENT_FAILURE) or the deadline passes. This tells "no
 * manager there" apart from a manager that answered UNAVAILABLE itself, and fails fast on
 * a refused connection instead of waiting out the deadline.
 */
function connected(client: ControlClient, deadline: number): Promise<void> {
  const channel = client.getChannel();
  return new Promise((resolve, reject) => {
    const check = (): void => {
      const state = channel.getConnectivityState(true);
      if (state === connectivityState.READY) return resolve();
      if (state === connectivityState.TRANSIENT_FAILURE || state === connectivityState.SHUTDOWN) {
        return reject(new ChannelUnreachable(connectivityState[state], false));
      }
      channel.watchConnectivityState(state, deadline, (err) => {
        if (err) reject(new ChannelUnreachable('connect deadline exceeded', true, { cause: err }));
        else check();
      });
    };
    check();
  });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** Why an event stream ended, in a few words. */
function streamEndWhy(end: { code: status; details: string }): string {
  if (end.code === status.OK) return 'the manager closed it';
  // Only a server going away cancels a stream we did not cancel ourselves.
  if (end.code === status.CANCELLED) return 'the manager went away';
  return oneLine(end.details || status[end.code] || `gRPC status ${end.code}`);
}

/** The result of one call on one address: its answer, or the UNAVAILABLE it answered. */
type Outcome<T> = { ok: true; value: T } | { ok: false; unavailable: ServiceError };

/** How one event stream ended: cancelled by us, or by the manager's side with a status. */
type StreamEnd = { aborted: true } | { aborted: false; code: status; details: string; stable: boolean };

export interface GrpcControlApiOptions {
  /** The addresses as the user wrote them, for messages. */
  label?: string;
  /** Deadline of one call, across every address tried (default 10 s). */
  deadlineMs?: number;
  /** How long one address may take to connect before the next is tried (default 1 s). */
  connectMs?: number;
}

export class GrpcControlApi implements ControlApi {
  readonly #addresses: readonly string[];
  readonly #label: string;
  readonly #deadlineMs: number;
  readonly #connectMs: number;
  readonly #clients = new Map<number, ControlClient>();
  /** Index of the address that answered last; calls start there. */
  #current = 0;

  constructor(addresses: readonly string[], options: GrpcControlApiOptions = {}) {
    if (addresses.length === 0) throw new Error('GrpcControlApi needs at least one address');
    this.#addresses = addresses;
    this.#label = options.label ?? addresses.join(',');
    this.#deadlineMs = options.deadlineMs ?? CALL_DEADLINE_MS;
    this.#connectMs = Math.min(options.connectMs ?? CONNECT_MS, this.#deadlineMs);
  }

  #client(index: number): ControlClient {
    let client = this.#clients.get(index);
    if (client === undefined) {
      // Never route manager traffic through an HTTP proxy from the environment.
      client = new ControlClient(this.#addresses[index] ?? '', credentials.createInsecure(), {
        'grpc.enable_http_proxy': 0,
        'grpc.keepalive_time_ms': KEEPALIVE_MS,
        'grpc.keepalive_timeout_ms': KEEPALIVE_TIMEOUT_MS,
      });
      this.#clients.set(index, client);
    }
    return client;
  }

  /**
   * Forgets an address's channel: the next call opens a fresh one instead of reusing one in
   * grpc-js's reconnect backoff (which grows to minutes) or one stuck on a dead connection.
   */
  #drop(index: number): void {
    this.#clients.get(index)?.close();
    this.#clients.delete(index);
  }

  /**
   * Runs one unary call, trying each address in turn (starting with the last that
   * answered) while it is unreachable or answers UNAVAILABLE ("not the leader", "no
   * leader"). Any other gRPC error is final. An address gets CONNECT_MS to connect before
   * the next is tried; those still connecting then get the rest of the deadline.
   */
  async #call<T>(invoke: Invoke<T>): Promise<T> {
    const n = this.#addresses.length;
    const deadline = Date.now() + this.#deadlineMs;
    const first = this.#current;
    let answered: ServiceError | undefined; // UNAVAILABLE sent by a manager we reached
    const slow: number[] = [];
    for (let attempt = 0; attempt < n; attempt++) {
      const index = (first + attempt) % n;
      const state = await this.#connect(index, Math.min(deadline, Date.now() + this.#connectMs));
      if (state === 'slow') slow.push(index);
      if (state !== 'ready') continue;
      const outcome = await this.#invoke(index, invoke, deadline);
      if (outcome.ok) return outcome.value;
      answered = outcome.unavailable;
    }
    while (slow.length > 0) {
      const index = await this.#firstReady(slow, deadline);
      if (index === undefined) break;
      slow.splice(slow.indexOf(index), 1);
      const outcome = await this.#invoke(index, invoke, deadline);
      if (outcome.ok) return outcome.value;
      answered = outcome.unavailable;
    }
    if (answered !== undefined) {
      throw new ManagerError(oneLine(answered.details || 'the manager is unavailable'), answered.code, true, {
        cause: answered,
      });
    }
    throw new UnreachableError(this.#label);
  }

  /** 'ready'; 'failed' (refused, unresolvable...); 'slow' (still connecting at `by`). */
  async #connect(index: number, by: number): Promise<'ready' | 'failed' | 'slow'> {
    try {
      await connected(this.#client(index), by);
      return 'ready';
    } catch (err) {
      if (!(err instanceof ChannelUnreachable)) throw err;
      if (err.timedOut) return 'slow'; // left connecting: #firstReady may still get it
      this.#drop(index);
      return 'failed';
    }
  }

  /** The first of `indexes` whose channel gets READY before the deadline; undefined if none. */
  async #firstReady(indexes: readonly number[], deadline: number): Promise<number | undefined> {
    try {
      return await Promise.any(
        indexes.map(async (index) => {
          await connected(this.#client(index), deadline);
          return index;
        }),
      );
    } catch (err) {
      if (!(err instanceof AggregateError) || !err.errors.every((e) => e instanceof ChannelUnreachable)) throw err;
      for (const index of indexes) this.#drop(index);
      return undefined;
    }
  }

  async #invoke<T>(index: number, invoke: Invoke<T>, deadline: number): Promise<Outcome<T>> {
    const client = this.#client(index);
    try {
      const value = await new Promise<T>((resolve, reject) => {
        invoke(client, new Metadata(), { deadline }, (error, res) => (error ? reject(error) : resolve(res)));
      });
      this.#current = index;
      return { ok: true, value };
    } catch (err) {
      if (!isServiceError(err)) throw err;
      if (err.code === status.UNAVAILABLE) return { ok: false, unavailable: err };
      if (err.code === status.DEADLINE_EXCEEDED) {
        // Connected but silent (e.g. a stopped process): the next call starts elsewhere, afresh.
        this.#drop(index);
        this.#current = (index + 1) % this.#addresses.length;
      }
      throw this.#convert(err, index);
    }
  }

  #convert(err: ServiceError, index: number): ManagerError {
    if (err.code === status.DEADLINE_EXCEEDED) {
      return new ManagerError(
        `the manager at ${this.#addresses[index]} did not answer within ${this.#deadlineMs / 1000}s`,
        err.code,
        true,
        { cause: err },
      );
    }
    const details = oneLine(err.details || status[err.code] || `gRPC status ${err.code}`);
    return new ManagerError(details, err.code, false, { cause: err });
  }

  async listNodes(): Promise<Node[]> {
    const res = await this.#call<ListNodesResponse>((c, md, o, cb) => c.listNodes({}, md, o, cb));
    return res.nodes;
  }

  getNode(ref: string): Promise<Node> {
    return this.#call<Node>((c, md, o, cb) => c.getNode({ ref }, md, o, cb));
  }

  updateNode(request: UpdateNodeRequest): Promise<Node> {
    return this.#call<Node>((c, md, o, cb) => c.updateNode(request, md, o, cb));
  }

  createService(spec: ServiceSpec): Promise<Service> {
    return this.#call<Service>((c, md, o, cb) => c.createService({ spec }, md, o, cb));
  }

  getService(ref: string): Promise<Service> {
    return this.#call<Service>((c, md, o, cb) => c.getService({ ref }, md, o, cb));
  }

  async listServices(): Promise<ServiceSummary[]> {
    const res = await this.#call<ListServicesResponse>((c, md, o, cb) => c.listServices({}, md, o, cb));
    return res.services;
  }

  scaleService(ref: string, replicas: number): Promise<Service> {
    return this.#call<Service>((c, md, o, cb) => c.scaleService({ ref, replicas }, md, o, cb));
  }

  async removeService(ref: string): Promise<void> {
    await this.#call<RemoveServiceResponse>((c, md, o, cb) => c.removeService({ ref }, md, o, cb));
  }

  async listManagers(): Promise<ManagerInfo[]> {
    const res = await this.#call<ListManagersResponse>((c, md, o, cb) => c.listManagers({}, md, o, cb));
    return res.managers;
  }

  async listTasks(filter: Partial<ListTasksRequest>): Promise<Task[]> {
    const request: ListTasksRequest = { service: filter.service ?? '', node: filter.node ?? '' };
    const res = await this.#call<ListTasksResponse>((c, md, o, cb) => c.listTasks(request, md, o, cb));
    return res.tasks;
  }

  async removeNode(ref: string, force: boolean): Promise<void> {
    await this.#call<RemoveNodeResponse>((c, md, o, cb) => c.removeNode({ ref, force }, md, o, cb));
  }

  createNetwork(spec: NetworkSpec): Promise<Network> {
    return this.#call<Network>((c, md, o, cb) => c.createNetwork({ spec }, md, o, cb));
  }

  getNetwork(ref: string): Promise<NetworkDetail> {
    return this.#call<NetworkDetail>((c, md, o, cb) => c.getNetwork({ ref }, md, o, cb));
  }

  async listNetworks(): Promise<NetworkDetail[]> {
    const res = await this.#call<ListNetworksResponse>((c, md, o, cb) => c.listNetworks({}, md, o, cb));
    return res.networks;
  }

  async removeNetwork(ref: string): Promise<void> {
    await this.#call<RemoveNetworkResponse>((c, md, o, cb) => c.removeNetwork({ ref }, md, o, cb));
  }

  lookupService(name: string): Promise<ServiceEndpoints> {
    return this.#call<ServiceEndpoints>((c, md, o, cb) => c.lookupService({ name }, md, o, cb));
  }

  /**
   * Opens the stream on the first address that connects (the last that answered first).
   * A stream that worked for a while and then ended (the manager stopped, its host went
   * away) is reopened on the other addresses, each tried once (the one that was lost is
   * not: a single manager going away ends the command); an address whose stream fails at
   * once counts as failed. Any manager answering a final code (FINAL_STREAM_CODES) ends it.
   */
  async events(request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<void> {
    // Ctrl-C while an address is still connecting ends the command at once, not after CONNECT_MS.
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await Promise.race([this.#follow(request, sink, signal), aborted]);
  }

  async #follow(request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<void> {
    const n = this.#addresses.length;
    let start = this.#current;
    /** The stream that worked and ended last: not retried until another one has worked. */
    let lost: { index: number; why: string } | undefined;
    /** The last stream that ended, and why (for the message when no address takes over). */
    let last: { index: number; why: string } | undefined;
    for (;;) {
      let reopened = false;
      const slow: number[] = [];
      const tryIndex = async (index: number): Promise<'done' | 'next' | 'reopen'> => {
        if (lost !== undefined)
          sink.failover(this.#addresses[lost.index] ?? '', this.#addresses[index] ?? '', lost.why);
        const end = await this.#stream(index, request, sink, signal);
        if (end.aborted) return 'done';
        if (FINAL_STREAM_CODES.includes(end.code)) {
          throw new ManagerError(
            oneLine(end.details || status[end.code] || `gRPC status ${end.code}`),
            end.code,
            false,
          );
        }
        last = { index, why: streamEndWhy(end) };
        if (!end.stable) return 'next';
        lost = last;
        start = (index + 1) % n;
        return 'reopen';
      };
      for (let attempt = 0; attempt < n && !reopened; attempt++) {
        const index = (start + attempt) % n;
        if (index === lost?.index) continue;
        if (signal.aborted) return;
        const state = await this.#connect(index, Date.now() + this.#connectMs);
        if (signal.aborted) return;
        if (state === 'slow') slow.push(index);
        if (state !== 'ready') continue;
        const outcome = await tryIndex(index);
        if (outcome === 'done') return;
        reopened = outcome === 'reopen';
      }
      // Addresses still connecting after CONNECT_MS get the rest of a call's deadline, as for calls.
      const deadline = Date.now() + this.#deadlineMs;
      while (!reopened && slow.length > 0 && !signal.aborted) {
        const index = await this.#firstReady(slow, deadline);
        if (index === undefined || signal.aborted) break;
        slow.splice(slow.indexOf(index), 1);
        const outcome = await tryIndex(index);
        if (outcome === 'done') return;
        reopened = outcome === 'reopen';
      }
      if (signal.aborted) return;
      if (!reopened) break;
    }
    const ended = lost ?? last;
    if (ended === undefined) throw new UnreachableError(this.#label);
    const others = lost !== undefined && n > 1 ? '; no other manager answered' : '';
    throw new CliError(`the event stream from ${this.#addresses[ended.index]} ended: ${ended.why}${others}`);
  }

  /** One event stream on one address, until it ends or `signal` aborts. */
  #stream(index: number, request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<StreamEnd> {
    return new Promise((resolve) => {
      const started = Date.now();
      let delivered = false;
      let ended: StatusObject | undefined;
      let done = false;
      const call = this.#client(index).events(request, new Metadata());
      const onAbort = (): void => call.cancel();
      const finish = (): void => {
        if (done || ended === undefined) return;
        done = true;
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return resolve({ aborted: true });
        if (ended.code === status.UNAVAILABLE) this.#drop(index); // reconnect afresh, not after grpc-js's backoff
        const stable = delivered || Date.now() - started >= STREAM_STABLE_MS;
        resolve({ aborted: false, code: ended.code, details: ended.details, stable });
      };
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) call.cancel();
      call.on('data', (e: Event) => {
        delivered = true;
        this.#current = index;
        sink.event(e);
      });
      call.on('error', () => {}); // the status says it all
      // 'status' comes before the last messages are read: finish once they are ('end').
      call.on('status', (s: StatusObject) => {
        ended = s;
        if (call.readableEnded) finish();
      });
      call.on('end', finish);
      call.on('close', finish);
    });
  }

  /** Closes every channel opened; idempotent. */
  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
