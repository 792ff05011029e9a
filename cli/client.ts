// The CLI's only door to the manager: promisified Control calls with a deadline, failover
// across several manager addresses, and gRPC errors converted once, here, to CliErrors.
// channels.ts holds the channels and the connect waits; event-stream.ts the events stream.
import { type CallOptions, type ChannelCredentials, Metadata, type ServiceError, status } from '@grpc/grpc-js';
import type {
  Config,
  ConfigSpec,
  ControlClient,
  ListConfigsResponse,
  ListSecretsResponse,
  Secret,
  SecretSpec,
  EventsRequest,
  ServiceLogsMessage,
  ServiceLogsRequest,
  ListManagersResponse,
  CAStatus,
  IssueClientCertificateResponse,
  JoinTokens,
  ListNetworksResponse,
  ListNodesResponse,
  ListServicesResponse,
  ListTasksRequest,
  ListTasksResponse,
  ManagerInfo,
  Network,
  NetworkDetail,
  NetworkSpec,
  Node,
  RemoveNetworkResponse,
  RemoveNodeResponse,
  RemoveServiceResponse,
  Service,
  ServiceEndpoints,
  ServiceSpec,
  ServiceSummary,
  Task,
  UpdateNodeRequest,
} from '../proto/gen/shoal.js';
import { ResolveImage } from '../proto/gen/shoal.js';
import type { ImageRequestOptions } from './commands/service/image-flags.js';
import type { Closable } from '../proto/lifecycle.js';
import { ManagerChannels } from './channels.js';
import { type Clock, systemClock } from '../proto/clock.js';
import { ManagerError, statusText, UnreachableError } from './errors.js';
import { type EventSink, followEvents } from './event-stream.js';
import { streamLogs } from './log-stream.js';

export type { EventSink } from './event-stream.js';

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
export interface ControlApi extends Closable {
  listNodes(): Promise<Node[]>;
  getNode(ref: string): Promise<Node>;
  updateNode(request: UpdateNodeRequest): Promise<Node>;
  createService(spec: ServiceSpec, options?: ImageRequestOptions): Promise<Service>;
  getService(ref: string): Promise<Service>;
  listServices(): Promise<ServiceSummary[]>;
  scaleService(ref: string, replicas: number): Promise<Service>;
  /** Replaces the service's spec (based on `specVersion`; 0: whatever it is now) and rolls it out. */
  updateService(ref: string, spec: ServiceSpec, specVersion: number, options?: ImageRequestOptions): Promise<Service>;
  /** Back to the previous spec (again: further back). */
  rollbackService(ref: string): Promise<Service>;
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
  /** Secrets: the manager never answers with their data. */
  createSecret(spec: SecretSpec): Promise<Secret>;
  getSecret(ref: string): Promise<Secret>;
  listSecrets(): Promise<Secret[]>;
  removeSecret(ref: string): Promise<void>;
  createConfig(spec: ConfigSpec): Promise<Config>;
  getConfig(ref: string): Promise<Config>;
  listConfigs(): Promise<Config[]>;
  removeConfig(ref: string): Promise<void>;
  /**
   * Follows the cluster's events until `signal` aborts (then resolves). When the stream
   * ends otherwise, it continues on another address if one answers; when none does, rejects
   * with a CliError saying which stream ended and why.
   */
  events(request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<void>;
  /** A service's (or task's) logs into `onMessage` until the manager ends the stream or `signal` aborts. */
  serviceLogs(
    request: ServiceLogsRequest,
    onMessage: (m: ServiceLogsMessage) => void,
    signal: AbortSignal,
  ): Promise<void>;
  /** The join tokens, after rotating the ones asked for. */
  joinTokens(rotate: { worker?: boolean; manager?: boolean }): Promise<JoinTokens>;
  issueClientCertificate(name: string, csrPem: string): Promise<IssueClientCertificateResponse>;
  inspectCa(): Promise<CAStatus>;
  rotateCa(certPem: string, keyPem: string): Promise<CAStatus>;
}

type Callback<T> = (error: ServiceError | null, response: T) => void;
type Invoke<T> = (
  client: ControlClient,
  metadata: Metadata,
  options: Partial<CallOptions>,
  callback: Callback<T>,
) => void;

function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number';
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
  /** Whose time the connect timeouts and the deadline run on (default: the system's). */
  clock?: Clock;
  /** How to authenticate (mutual TLS with the CLI's bundle); asked when the first channel opens. Default: plaintext (tests). */
  credentials?: () => ChannelCredentials;
}

export class GrpcControlApi implements ControlApi {
  readonly #channels: ManagerChannels;
  readonly #clock: Clock;
  readonly #label: string;
  readonly #deadlineMs: number;
  readonly #connectMs: number;
  #closing: Promise<void> | undefined;

  constructor(addresses: readonly string[], options: GrpcControlApiOptions = {}) {
    if (addresses.length === 0) throw new Error('GrpcControlApi needs at least one address');
    this.#clock = options.clock ?? systemClock;
    this.#channels = new ManagerChannels(addresses, this.#clock, options.credentials);
    this.#label = options.label ?? addresses.join(',');
    this.#deadlineMs = options.deadlineMs ?? CALL_DEADLINE_MS;
    this.#connectMs = Math.min(options.connectMs ?? CONNECT_MS, this.#deadlineMs);
  }

  /** Time left until `deadline` on the clock. */
  #left(deadline: number): number {
    return deadline - this.#clock.now();
  }

  /**
   * Runs one unary call, trying each address in turn (starting with the last that
   * answered) while it is unreachable or answers UNAVAILABLE ("not the leader", "no
   * leader"). Any other gRPC error is final. An address gets connectMs to connect before
   * the next is tried; those still connecting then get the rest of the deadline.
   */
  async #call<T>(invoke: Invoke<T>): Promise<T> {
    const channels = this.#channels;
    const n = channels.addresses.length;
    const deadline = this.#clock.now() + this.#deadlineMs;
    const first = channels.current;
    let answered: ServiceError | undefined; // UNAVAILABLE sent by a manager we reached
    const slow: number[] = [];
    for (let attempt = 0; attempt < n; attempt++) {
      const index = (first + attempt) % n;
      const state = await channels.connect(index, Math.min(this.#left(deadline), this.#connectMs));
      if (state === 'slow') slow.push(index);
      if (state !== 'ready') continue;
      const outcome = await this.#invoke(index, invoke, deadline);
      if (outcome.ok) return outcome.value;
      answered = outcome.unavailable;
    }
    while (slow.length > 0) {
      const index = await channels.firstReady(slow, this.#left(deadline));
      if (index === undefined) break;
      slow.splice(slow.indexOf(index), 1);
      const outcome = await this.#invoke(index, invoke, deadline);
      if (outcome.ok) return outcome.value;
      answered = outcome.unavailable;
    }
    if (answered !== undefined) {
      throw new ManagerError(
        statusText(answered.code, answered.details || 'the manager is unavailable'),
        answered.code,
        true,
        {
          cause: answered,
        },
      );
    }
    throw new UnreachableError(this.#label);
  }

  async #invoke<T>(index: number, invoke: Invoke<T>, deadline: number): Promise<Outcome<T>> {
    const channels = this.#channels;
    const client = channels.client(index);
    // grpc-js wants a wall-clock time: the time left on our clock, from now.
    const options = { deadline: Date.now() + Math.max(0, this.#left(deadline)) };
    try {
      const value = await new Promise<T>((resolve, reject) => {
        invoke(client, new Metadata(), options, (error, res) => (error ? reject(error) : resolve(res)));
      });
      channels.current = index;
      return { ok: true, value };
    } catch (err) {
      if (!isServiceError(err)) throw err;
      if (err.code === status.UNAVAILABLE) return { ok: false, unavailable: err };
      if (err.code === status.DEADLINE_EXCEEDED) {
        // Connected but silent (e.g. a stopped process): the next call starts elsewhere, afresh.
        channels.drop(index);
        channels.current = (index + 1) % channels.addresses.length;
      }
      throw this.#convert(err, index);
    }
  }

  #convert(err: ServiceError, index: number): ManagerError {
    if (err.code === status.DEADLINE_EXCEEDED) {
      return new ManagerError(
        `the manager at ${this.#channels.address(index)} did not answer within ${this.#deadlineMs / 1000}s`,
        err.code,
        true,
        { cause: err },
      );
    }
    return new ManagerError(statusText(err.code, err.details), err.code, false, { cause: err });
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

  createService(spec: ServiceSpec, options?: ImageRequestOptions): Promise<Service> {
    const image = options ?? { resolveImage: ResolveImage.ALWAYS, registryAuth: '' };
    return this.#call<Service>((c, md, o, cb) =>
      c.createService({ spec, resolveImage: image.resolveImage, registryAuth: image.registryAuth }, md, o, cb),
    );
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

  updateService(ref: string, spec: ServiceSpec, specVersion: number, options?: ImageRequestOptions): Promise<Service> {
    const image = options ?? { resolveImage: ResolveImage.ALWAYS, registryAuth: '' };
    const request = { ref, spec, specVersion, resolveImage: image.resolveImage, registryAuth: image.registryAuth };
    return this.#call<Service>((c, md, o, cb) => c.updateService(request, md, o, cb));
  }

  rollbackService(ref: string): Promise<Service> {
    return this.#call<Service>((c, md, o, cb) => c.rollbackService({ ref }, md, o, cb));
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

  joinTokens(rotate: { worker?: boolean; manager?: boolean }): Promise<JoinTokens> {
    const request = { rotateWorker: rotate.worker ?? false, rotateManager: rotate.manager ?? false };
    return this.#call<JoinTokens>((c, md, o, cb) => c.getJoinTokens(request, md, o, cb));
  }

  issueClientCertificate(name: string, csrPem: string): Promise<IssueClientCertificateResponse> {
    return this.#call<IssueClientCertificateResponse>((c, md, o, cb) =>
      c.issueClientCertificate({ name, csrPem }, md, o, cb),
    );
  }

  inspectCa(): Promise<CAStatus> {
    return this.#call<CAStatus>((c, md, o, cb) => c.inspectCa({}, md, o, cb));
  }

  rotateCa(certPem: string, keyPem: string): Promise<CAStatus> {
    return this.#call<CAStatus>((c, md, o, cb) => c.rotateCa({ certPem, keyPem }, md, o, cb));
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

  createSecret(spec: SecretSpec): Promise<Secret> {
    return this.#call<Secret>((c, md, o, cb) => c.createSecret({ spec }, md, o, cb));
  }

  getSecret(ref: string): Promise<Secret> {
    return this.#call<Secret>((c, md, o, cb) => c.getSecret({ ref }, md, o, cb));
  }

  async listSecrets(): Promise<Secret[]> {
    return (await this.#call<ListSecretsResponse>((c, md, o, cb) => c.listSecrets({}, md, o, cb))).secrets;
  }

  async removeSecret(ref: string): Promise<void> {
    await this.#call<object>((c, md, o, cb) => c.removeSecret({ ref }, md, o, cb));
  }

  createConfig(spec: ConfigSpec): Promise<Config> {
    return this.#call<Config>((c, md, o, cb) => c.createConfig({ spec }, md, o, cb));
  }

  getConfig(ref: string): Promise<Config> {
    return this.#call<Config>((c, md, o, cb) => c.getConfig({ ref }, md, o, cb));
  }

  async listConfigs(): Promise<Config[]> {
    return (await this.#call<ListConfigsResponse>((c, md, o, cb) => c.listConfigs({}, md, o, cb))).configs;
  }

  async removeConfig(ref: string): Promise<void> {
    await this.#call<object>((c, md, o, cb) => c.removeConfig({ ref }, md, o, cb));
  }

  /** See ControlApi.events; the stream and its failover are event-stream.ts's. */
  async events(request: EventsRequest, sink: EventSink, signal: AbortSignal): Promise<void> {
    // Ctrl-C while an address is still connecting ends the command at once, not after connectMs.
    const aborted = new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener('abort', () => resolve(), { once: true });
    });
    const options = { label: this.#label, connectMs: this.#connectMs, deadlineMs: this.#deadlineMs };
    await Promise.race([followEvents(this.#channels, request, sink, signal, options), aborted]);
  }

  /** See ControlApi.serviceLogs; the stream is log-stream.ts's. */
  serviceLogs(
    request: ServiceLogsRequest,
    onMessage: (m: ServiceLogsMessage) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const options = { label: this.#label, connectMs: this.#connectMs, deadlineMs: this.#deadlineMs };
    return streamLogs(this.#channels, request, onMessage, signal, options);
  }

  /** Closes every channel opened; idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#channels.close();
    return this.#closing;
  }
}
