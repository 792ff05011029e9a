// The CLI's only door to the manager: promisified Control calls with a deadline, failover
// across several manager addresses, and gRPC errors converted once, here, to CliErrors.
import { type CallOptions, connectivityState, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  ControlClient,
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
  type ServiceSpec,
  type ServiceSummary,
  type Task,
  type UpdateNodeRequest,
} from '../proto/gen/shoal.js';
import { ManagerError, UnreachableError } from './errors.js';

const CALL_DEADLINE_MS = 10_000; // one answer from a healthy manager takes milliseconds
/**
 * How long one address gets to accept the connection and finish the HTTP/2 handshake before
 * the next is tried. A manager that is there does it in milliseconds; a host that does not
 * answer (or a stopped process) would otherwise cost the whole call deadline. An address
 * still connecting after this long is not given up: it gets the rest of the deadline once
 * the others have been tried (a loaded manager may be slow to answer).
 */
const CONNECT_MS = 1_000;

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
  close(): void;
}

type Callback<T> = (error: ServiceError | null, response: T) => void;
type Invoke<T> = (client: ControlClient, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<T>) => void;

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

/** The result of one call on one address: its answer, or the UNAVAILABLE it answered. */
type Outcome<T> = { ok: true; value: T } | { ok: false; unavailable: ServiceError };

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

  /** Closes every channel opened; idempotent. */
  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
