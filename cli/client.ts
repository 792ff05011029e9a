// The CLI's only door to the manager: promisified Control calls with a deadline, failover
// across several manager addresses, and gRPC errors converted once, here, to CliErrors.
import { type CallOptions, connectivityState, credentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import {
  ControlClient,
  type ListNodesResponse,
  type ListServicesResponse,
  type ListTasksRequest,
  type ListTasksResponse,
  type Node,
  type RemoveServiceResponse,
  type Service,
  type ServiceSpec,
  type ServiceSummary,
  type Task,
  type UpdateNodeRequest,
} from '../proto/gen/shoal.js';
import { ManagerError, UnreachableError } from './errors.js';

const CALL_DEADLINE_MS = 10_000; // one answer from a healthy manager takes milliseconds

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
  close(): void;
}

type Callback<T> = (error: ServiceError | null, response: T) => void;
type Invoke<T> = (client: ControlClient, metadata: Metadata, options: Partial<CallOptions>, callback: Callback<T>) => void;

class ChannelUnreachable extends Error {
  override name = 'ChannelUnreachable';
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
        return reject(new ChannelUnreachable(connectivityState[state]));
      }
      channel.watchConnectivityState(state, deadline, (err) => {
        if (err) reject(new ChannelUnreachable('connect deadline exceeded', { cause: err }));
        else check();
      });
    };
    check();
  });
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

export class GrpcControlApi implements ControlApi {
  readonly #addresses: readonly string[];
  readonly #label: string;
  readonly #deadlineMs: number;
  readonly #clients = new Map<number, ControlClient>();
  /** Index of the address that answered last; calls start there. */
  #current = 0;

  constructor(addresses: readonly string[], options: { label?: string; deadlineMs?: number } = {}) {
    if (addresses.length === 0) throw new Error('GrpcControlApi needs at least one address');
    this.#addresses = addresses;
    this.#label = options.label ?? addresses.join(',');
    this.#deadlineMs = options.deadlineMs ?? CALL_DEADLINE_MS;
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
   * Runs one unary call, trying each address in turn (starting with the last that
   * answered) while the answer is UNAVAILABLE. Any other gRPC error is final.
   */
  async #call<T>(invoke: Invoke<T>): Promise<T> {
    const n = this.#addresses.length;
    let answered: ServiceError | undefined; // UNAVAILABLE sent by a manager we reached
    for (let attempt = 0; attempt < n; attempt++) {
      const index = (this.#current + attempt) % n;
      const client = this.#client(index);
      const deadline = Date.now() + this.#deadlineMs;
      try {
        await connected(client, deadline);
      } catch (err) {
        if (err instanceof ChannelUnreachable) continue;
        throw err;
      }
      try {
        const response = await new Promise<T>((resolve, reject) => {
          invoke(client, new Metadata(), { deadline }, (error, res) => (error ? reject(error) : resolve(res)));
        });
        this.#current = index;
        return response;
      } catch (err) {
        if (!isServiceError(err)) throw err;
        if (err.code === status.UNAVAILABLE) {
          answered = err;
          continue;
        }
        throw this.#convert(err, index);
      }
    }
    if (answered !== undefined) {
      throw new ManagerError(oneLine(answered.details || 'the manager is unavailable'), answered.code, true, {
        cause: answered,
      });
    }
    throw new UnreachableError(this.#label);
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

  async listTasks(filter: Partial<ListTasksRequest>): Promise<Task[]> {
    const request: ListTasksRequest = { service: filter.service ?? '', node: filter.node ?? '' };
    const res = await this.#call<ListTasksResponse>((c, md, o, cb) => c.listTasks(request, md, o, cb));
    return res.tasks;
  }

  /** Closes every channel opened; idempotent. */
  close(): void {
    for (const client of this.#clients.values()) client.close();
    this.#clients.clear();
  }
}
