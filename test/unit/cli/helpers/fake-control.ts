// A fake Control service on a real grpc-js server (127.0.0.1:0), for running the real
// `shoal` binary against. Keeps services/nodes/tasks in memory, resolves refs like the
// manager (id, name or hostname, unique id prefix) and records every call.
import {
  type sendUnaryData,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  status as grpcStatus,
  type StatusObject,
} from '@grpc/grpc-js';
import {
  type CreateServiceRequest,
  type RemoveServiceRequest,
  type RemoveServiceResponse,
  type ScaleServiceRequest,
  ControlService,
  type ControlServer,
  type ManagerInfo,
  type Node,
  type Service,
  type ServiceSpec,
  type ServiceStatus,
  type Task,
} from '../../../../proto/gen/shoal.js';

export interface Call {
  method: string;
  request: unknown;
}

type Failure = Partial<StatusObject>;

export class FakeControl {
  readonly calls: Call[] = [];
  nodes: Node[] = [];
  services: Service[] = [];
  tasks: Task[] = [];
  managers: ManagerInfo[] = [];
  /** Per service name: the statuses ListServices reports, one per call; the last repeats. */
  readonly statusScript = new Map<string, Array<Partial<ServiceStatus>>>();
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

  async start(): Promise<string> {
    const server = new Server();
    server.addService(ControlService, this.#implementation());
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
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

  addService(spec: Partial<ServiceSpec> & { name: string }): Service {
    const service: Service = {
      id: this.#id('svc'),
      spec: fullSpec(spec),
      specVersion: 1,
      createdAtMs: Date.parse('2026-01-01T00:00:00Z'),
      updatedAtMs: Date.parse('2026-01-01T00:00:00Z'),
    };
    this.services.push(service);
    return service;
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
      removeNode: handle('removeNode', () => ({})),
      createNetwork: handle('createNetwork', (req: { spec?: { name: string } }) => ({ id: 'n1', spec: { name: req.spec?.name ?? '', subnet: '10.43.0.0/16', labels: {} }, vni: 4097, hostPrefixLen: 24, isDefault: false, createdAtMs: 0 })),
      getNetwork: handle('getNetwork', () => ({ network: undefined, leases: [], services: [] })),
      listNetworks: handle('listNetworks', () => ({ networks: [] })),
      removeNetwork: handle('removeNetwork', () => ({})),
      getNode: handle('getNode', (req: { ref: string }) => this.#node(req.ref)),
      updateNode: handle('updateNode', (req: { ref: string }) => this.#node(req.ref)),
      createService: handle<CreateServiceRequest, Service>('createService', (req) => {
        const spec = req.spec;
        if (spec === undefined) return { code: grpcStatus.INVALID_ARGUMENT, details: 'spec is required' };
        if (this.services.some((s) => s.spec?.name === spec.name)) {
          return { code: grpcStatus.ALREADY_EXISTS, details: `service "${spec.name}" already exists` };
        }
        return this.addService(spec);
      }),
      getService: handle('getService', (req: { ref: string }) => this.#service(req.ref)),
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
        tasks: this.tasks.filter((t) => req.service === '' || t.serviceId === req.service || t.serviceName === req.service),
      })),
    };
  }
}

function isFailure(x: unknown): x is Failure {
  return typeof x === 'object' && x !== null && 'code' in x && typeof (x as Failure).code === 'number';
}

export function fullSpec(spec: Partial<ServiceSpec> & { name: string }): ServiceSpec {
  return {
    image: 'busybox',
    command: [],
    env: [],
    labels: {},
    mode: 0,
    replicas: 1,
    constraints: [],
    reservations: undefined,
    limits: undefined,
    ports: [],
    restart: undefined,
    health: undefined,
    networks: [],
    stopGracePeriodMs: 10_000,
    ...spec,
  };
}
