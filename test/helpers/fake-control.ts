// A fake Control service on a real grpc-js server (127.0.0.1:0), for running `shoal` (the real
// binary, or cli/run.ts in process) and the CLI's client against. Keeps services/nodes/tasks/
// networks in memory, resolves refs like the manager (id, name or hostname, unique id prefix)
// and records every call.
import { fakeManagerServerCredentials } from './test-pki.js';
import {
  type sendUnaryData,
  Server,
  type ServerUnaryCall,
  type ServerWritableStream,
  status as grpcStatus,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  type Endpoint,
  type Event,
  type EventsRequest,
  type LookupServiceRequest,
  type ServiceEndpoints,
  type ServiceLogsMessage,
  type ServiceLogsRequest,
  type CreateNetworkRequest,
  type CreateServiceRequest,
  type GetNetworkRequest,
  type Network,
  type NetworkDetail,
  type NetworkSpec,
  NodeStatus,
  type RemoveNetworkRequest,
  type RemoveNetworkResponse,
  type RemoveNodeRequest,
  type RemoveNodeResponse,
  type SubnetLease,
  type RemoveServiceRequest,
  type RemoveServiceResponse,
  type ScaleServiceRequest,
  ControlService,
  type ControlServer,
  type ManagerInfo,
  type Node,
  type Service,
  ServiceSpec,
  type ServiceStatus,
  type Task,
  type UpdateServiceRequest,
  type RollbackServiceRequest,
  type UpdateStatus,
} from '../../proto/gen/shoal.js';
import { NODE1, NODE2 } from './cli-fixtures.js';
import { FakeFiles } from './fake-files.js';
import { fakeRollback, fakeUpdate, scriptedStatus } from './fake-update.js';
import { pinnedLikeManager } from './fake-pin.js';
import { fullSpec } from './fake-specs.js';

export { NODE1, NODE2, fullSpec };

export interface Call {
  method: string;
  request: unknown;
}

type Failure = Partial<StatusObject>;

/** An open Events stream. */
export interface EventStream {
  request: EventsRequest;
  call: ServerWritableStream<EventsRequest, Event>;
}

/** A NATS subject token, as manager/events/subjects.ts builds it. */
function subjectToken(name: string): string {
  return name.replace(/[.\s*>]/g, '_') || '_';
}

export class FakeControl {
  readonly calls: Call[] = [];
  /** What ServiceLogs answers; with logsHold the stream stays open until cancelled. */
  logMessages: ServiceLogsMessage[] = [];
  logsHold = false;
  nodes: Node[] = [];
  services: Service[] = [];
  tasks: Task[] = [];
  managers: ManagerInfo[] = [];
  networks: Network[] = [];
  leases: SubnetLease[] = [];
  /** Secrets and configs (fake-files.ts). */
  readonly files = new FakeFiles(() => this.services);
  /** What LookupService answers for the services that exist (by serviceName). */
  endpoints: Endpoint[] = [];
  /** The Events streams open now. */
  readonly eventStreams = new Set<EventStream>();
  /** Waiting for the number of open Events streams to satisfy `ok`. */
  readonly #streamWaiters: Array<{ ok: (open: number) => boolean; resolve: () => void }> = [];
  /** Per service name: the statuses ListServices reports, one per call; the last repeats. */
  readonly statusScript = new Map<string, Array<Partial<ServiceStatus>>>();
  /** Per service name: the update statuses GetService reports after an update, one per call; the last repeats. */
  readonly updateScript = new Map<string, Array<Partial<UpdateStatus>>>();
  /** Per method name: fail every call with this status. */
  readonly failures = new Map<string, Failure>();
  /** Per method name: fail the next `times` calls with this status (see failNext). */
  readonly #failNext = new Map<string, { failure: Failure; times: number }>();
  /** Methods that never answer (the client's deadline ends the call). */
  readonly hang = new Set<string>();
  /** Called after each call is recorded (e.g. to stop this manager mid-wait). */
  onCall: ((method: string) => void) | undefined;
  #server: Server | undefined;
  #nextId = 1;
  #nextVni = 4097;
  #nextPool = 43; // 10.43.0.0/16, 10.44.0.0/16, ...

  async start(): Promise<string> {
    const server = new Server();
    server.addService(ControlService, this.#implementation());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', fakeManagerServerCredentials(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    this.#server = server;
    return `127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 1000);
      server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops at once, dropping open connections and calls, as a manager that died. */
  kill(): void {
    this.#server?.forceShutdown();
    this.#server = undefined;
  }

  /** The service a reference names (name, id or id prefix), or NOT_FOUND as the manager says it. */
  findService(ref: string): Service | Failure {
    return this.#service(ref);
  }

  addService(spec: Partial<ServiceSpec> & { name: string }): Service {
    const service: Service = {
      id: this.#id('svc'),
      spec: fullSpec(spec),
      specVersion: 1,
      createdAtMs: Date.parse('2026-01-01T00:00:00Z'),
      updatedAtMs: Date.parse('2026-01-01T00:00:00Z'),
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: false,
    };
    this.services.push(service);
    return service;
  }

  addNetwork(spec: Partial<NetworkSpec> & { name: string }, over: Partial<Network> = {}): Network {
    // An empty subnet gets the next free /16 of the pool, as the manager does.
    const subnet = spec.subnet || `10.${this.#nextPool++}.0.0/16`;
    const network: Network = {
      id: this.#id('net'),
      spec: { labels: {}, ...spec, subnet },
      vni: this.#nextVni++,
      hostPrefixLen: 24,
      isDefault: false,
      createdAtMs: Date.parse('2026-01-01T00:00:00Z'),
      ...over,
    };
    this.networks.push(network);
    return network;
  }

  /** Like the manager: the services whose spec names the network (or, naming none, on the default one). */
  networkServices(network: Network): string[] {
    const name = network.spec?.name ?? '';
    return this.services
      .filter((s) => {
        const nets = s.spec?.networks ?? [];
        return nets.length === 0 ? network.isDefault : nets.includes(name) || nets.includes(network.id);
      })
      .map((s) => s.spec?.name ?? '');
  }

  #detail(network: Network): NetworkDetail {
    return {
      network,
      leases: this.leases.filter((l) => l.networkId === network.id),
      services: this.networkServices(network),
    };
  }

  /**
   * Sends an event (type = the subject's 3rd token) to every open stream whose request it
   * matches, filtered as the manager's relay does: types (empty: all), name = the subject's
   * last token. `payload` is JSON-encoded. Returns how many streams got it.
   */
  emitEvent(subject: string, payload: unknown, timeMs = Date.now()): number {
    const tokens = subject.split('.');
    const event: Event = { type: tokens[2] ?? '', subject, timeMs, payloadJson: JSON.stringify(payload) };
    let sent = 0;
    for (const s of this.eventStreams) {
      const { types, name } = s.request;
      if (types.length > 0 && !types.includes(event.type)) continue;
      if (name !== '' && tokens.at(-1) !== subjectToken(name)) continue;
      s.call.write(event);
      sent++;
    }
    return sent;
  }

  /** Ends every open Events stream: with OK, or with `failure`. */
  endEvents(failure?: Failure): void {
    for (const s of this.eventStreams) {
      if (failure) s.call.emit('error', failure);
      else s.call.end();
    }
    this.eventStreams.clear();
    this.#streamsChanged();
  }

  /** Resolves once at least `n` Events streams are open. */
  waitForEventStreams(n = 1): Promise<void> {
    return this.#streamsUntil((open) => open >= n);
  }

  /** Resolves once no Events stream is open (each was cancelled or ended). */
  waitForNoEventStreams(): Promise<void> {
    return this.#streamsUntil((open) => open === 0);
  }

  #streamsUntil(ok: (open: number) => boolean): Promise<void> {
    if (ok(this.eventStreams.size)) return Promise.resolve();
    return new Promise((resolve) => this.#streamWaiters.push({ ok, resolve }));
  }

  #streamsChanged(): void {
    for (const w of [...this.#streamWaiters]) {
      if (!w.ok(this.eventStreams.size)) continue;
      this.#streamWaiters.splice(this.#streamWaiters.indexOf(w), 1);
      w.resolve();
    }
  }

  /** Fails the next `times` calls of `method` with `failure`, then answers normally. */
  failNext(method: string, failure: Failure, times: number): void {
    this.#failNext.set(method, { failure, times });
  }

  /** How many calls of `method` were made. */
  count(method: string): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  methods(): string[] {
    return this.calls.map((c) => c.method);
  }

  #id(prefix: string): string {
    return `${prefix}${String(this.#nextId++).padStart(25 - prefix.length, '0')}`;
  }

  #service(ref: string): Service | Failure {
    const exact = this.services.find((s) => s.id === ref || s.spec?.name === ref);
    if (exact) return exact;
    const prefixed = this.services.filter((s) => s.id.startsWith(ref));
    if (prefixed.length === 1 && prefixed[0]) return prefixed[0];
    return { code: grpcStatus.NOT_FOUND, details: `service "${ref}" not found` };
  }

  #node(ref: string): Node | Failure {
    const n = this.nodes.find((x) => x.id === ref || x.description?.hostname === ref || x.id.startsWith(ref));
    return n ?? { code: grpcStatus.NOT_FOUND, details: `node "${ref}" not found` };
  }

  #network(ref: string): Network | Failure {
    const exact = this.networks.find((n) => n.id === ref || n.spec?.name === ref);
    if (exact) return exact;
    const prefixed = this.networks.filter((n) => n.id.startsWith(ref));
    if (prefixed.length === 1 && prefixed[0]) return prefixed[0];
    return { code: grpcStatus.NOT_FOUND, details: `network "${ref}" not found` };
  }

  /** The failure set for the next call of `method` (failNext) or for every call (failures). */
  #failNextOrAlways(method: string): Failure | undefined {
    const next = this.#failNext.get(method);
    if (next !== undefined && next.times > 0) {
      next.times--;
      return next.failure;
    }
    return this.failures.get(method);
  }

  #status(service: Service): ServiceStatus {
    const spec = service.spec;
    const replicas = spec?.replicas ?? 0;
    const base: ServiceStatus = { desired: replicas, running: replicas, stopping: 0, pendingReason: '' };
    const script = this.statusScript.get(spec?.name ?? '');
    if (script === undefined || script.length === 0) return base;
    const next = script.length > 1 ? script.shift() : script[0];
    return { ...base, ...next };
  }

  #implementation(): ControlServer {
    const handle =
      <Req, Res>(method: string, fn: (req: Req) => Res | Failure) =>
      (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
        this.calls.push({ method, request: call.request });
        this.onCall?.(method);
        if (this.hang.has(method)) return;
        const next = this.#failNext.get(method);
        if (next !== undefined && next.times > 0) {
          next.times--;
          return callback(next.failure, null);
        }
        const failure = this.failures.get(method);
        if (failure) return callback(failure, null);
        const result = fn(call.request);
        if (isFailure(result)) callback(result, null);
        else callback(null, result);
      };

    return {
      listNodes: handle('listNodes', () => ({ nodes: this.nodes })),
      listManagers: handle('listManagers', () => ({ managers: this.managers })),
      removeNode: handle<RemoveNodeRequest, RemoveNodeResponse>('removeNode', (req) => {
        const found = this.#node(req.ref);
        if (isFailure(found)) return found;
        // The manager's rule and words (manager/controlapi/control-api.ts).
        if (found.status !== NodeStatus.DOWN && !req.force) {
          return {
            code: grpcStatus.FAILED_PRECONDITION,
            details: `node ${found.description?.hostname ?? found.id} is not down: stop its agent first, or use --force`,
          };
        }
        this.nodes = this.nodes.filter((n) => n !== found);
        this.leases = this.leases.filter((l) => l.nodeId !== found.id);
        return {};
      }),
      createNetwork: handle<CreateNetworkRequest, Network>('createNetwork', (req) => {
        const spec = req.spec;
        if (spec === undefined || spec.name === '')
          return { code: grpcStatus.INVALID_ARGUMENT, details: 'network name is required' };
        if (this.networks.some((n) => n.spec?.name === spec.name)) {
          return { code: grpcStatus.ALREADY_EXISTS, details: `network "${spec.name}" already exists` };
        }
        // Only the same subnet counts as overlapping here (the manager checks real overlap).
        const clash = spec.subnet === '' ? undefined : this.networks.find((n) => n.spec?.subnet === spec.subnet);
        if (clash !== undefined) {
          return {
            code: grpcStatus.INVALID_ARGUMENT,
            details: `subnet ${spec.subnet} overlaps network ${clash.spec?.name ?? ''} (${spec.subnet})`,
          };
        }
        return this.addNetwork(spec);
      }),
      getNetwork: handle<GetNetworkRequest, NetworkDetail>('getNetwork', (req) => {
        const found = this.#network(req.ref);
        return isFailure(found) ? found : this.#detail(found);
      }),
      listNetworks: handle('listNetworks', () => ({ networks: this.networks.map((n) => this.#detail(n)) })),
      removeNetwork: handle<RemoveNetworkRequest, RemoveNetworkResponse>('removeNetwork', (req) => {
        const found = this.#network(req.ref);
        if (isFailure(found)) return found;
        const name = found.spec?.name ?? '';
        if (found.isDefault) {
          return {
            code: grpcStatus.FAILED_PRECONDITION,
            details: `network "${name}" is the default network and cannot be removed`,
          };
        }
        const users = this.networkServices(found);
        if (users.length > 0) {
          const what = users.length > 1 ? 'services' : 'service';
          return {
            code: grpcStatus.FAILED_PRECONDITION,
            details: `network "${name}" is in use by ${what} ${users.join(', ')}`,
          };
        }
        this.networks = this.networks.filter((n) => n !== found);
        this.leases = this.leases.filter((l) => l.networkId !== found.id);
        return {};
      }),
      getNode: handle('getNode', (req: { ref: string }) => this.#node(req.ref)),
      updateNode: handle('updateNode', (req: { ref: string }) => this.#node(req.ref)),
      createService: handle<CreateServiceRequest, Service>('createService', (req) => {
        const spec = req.spec;
        if (spec === undefined) return { code: grpcStatus.INVALID_ARGUMENT, details: 'spec is required' };
        if (this.services.some((s) => s.spec?.name === spec.name)) {
          return { code: grpcStatus.ALREADY_EXISTS, details: `service "${spec.name}" already exists` };
        }
        return this.files.missingRef(spec) ?? this.addService({ ...spec, image: pinnedLikeManager(req) });
      }),
      getService: handle('getService', (req: { ref: string }) => scriptedStatus(this, this.#service(req.ref))),
      listServices: handle('listServices', () => ({
        services: this.services.map((service) => ({ service, status: this.#status(service) })),
      })),
      scaleService: handle<ScaleServiceRequest, Service>('scaleService', (req) => {
        const found = this.#service(req.ref);
        if (isFailure(found)) return found;
        if (found.spec) found.spec.replicas = req.replicas;
        return found;
      }),
      removeService: handle<RemoveServiceRequest, RemoveServiceResponse>('removeService', (req) => {
        const found = this.#service(req.ref);
        if (isFailure(found)) return found;
        this.services = this.services.filter((s) => s !== found);
        return {};
      }),
      listTasks: handle('listTasks', (req: { service: string; node: string }) => ({
        tasks: this.tasks.filter(
          (t) => req.service === '' || t.serviceId === req.service || t.serviceName === req.service,
        ),
      })),
      lookupService: handle<LookupServiceRequest, ServiceEndpoints>('lookupService', (req) => {
        const service = this.services.find((s) => s.spec?.name === req.name);
        // The manager's words (discovery is by name: no ids, no prefixes).
        if (service === undefined) return { code: grpcStatus.NOT_FOUND, details: `no such service: ${req.name}` };
        return {
          name: req.name,
          exists: true,
          networks: [...(service.spec?.networks ?? [])],
          ports: [...(service.spec?.ports ?? [])],
          endpoints: this.endpoints.filter((e) => e.serviceName === req.name),
          index: 1,
        };
      }),
      updateService: handle<UpdateServiceRequest, Service>('updateService', (req) => fakeUpdate(this, req)),
      rollbackService: handle<RollbackServiceRequest, Service>('rollbackService', (req) => fakeRollback(this, req)),
      serviceLogs: (call: ServerWritableStream<ServiceLogsRequest, ServiceLogsMessage>) => {
        this.calls.push({ method: 'serviceLogs', request: call.request });
        const failure = this.#failNextOrAlways('serviceLogs');
        if (failure) return void call.emit('error', failure);
        for (const m of this.logMessages) call.write(m);
        if (!this.logsHold) return void call.end();
        call.on('cancelled', () => this.calls.push({ method: 'serviceLogs:cancelled', request: {} }));
      },
      events: (call: ServerWritableStream<EventsRequest, Event>) => {
        this.calls.push({ method: 'events', request: call.request });
        this.onCall?.('events');
        const failure = this.#failNextOrAlways('events');
        if (failure) return void call.emit('error', failure);
        const stream: EventStream = { request: call.request, call };
        this.eventStreams.add(stream);
        call.on('cancelled', () => {
          this.eventStreams.delete(stream);
          this.#streamsChanged();
        });
        this.#streamsChanged();
      },
      ...this.files.handlers(handle),
      ...notServedYet(),
    };
  }
}

/** Control methods this fake does not serve (yet): UNIMPLEMENTED. */
function notServedYet() {
  const refuse = (_call: unknown, cb: (err: Failure, res: null) => void) =>
    cb({ code: grpcStatus.UNIMPLEMENTED, details: 'not served by the fake' }, null);
  return {
    getJoinTokens: refuse,
    issueClientCertificate: refuse,
    inspectCa: refuse,
    rotateCa: refuse,
  };
}

function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && 'code' in x && typeof (x as Failure).code === 'number';
}

/** A started fake, stopped when the test ends; `nodes` as given (none by default). */
export async function startFake(
  t: { teardown(fn: () => Promise<void>): void },
  nodes: Node[] = [],
): Promise<{ fake: FakeControl; host: string }> {
  const fake = new FakeControl();
  const host = await fake.start();
  t.teardown(() => fake.stop());
  fake.nodes = nodes;
  return { fake, host };
}
