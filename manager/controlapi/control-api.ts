// User-facing gRPC: validates requests and writes desired state, nothing else. Every
// write is durable in the store before the call returns. LookupService answers from the
// manager's endpoint catalog; Events follows NATS through the manager's event relay.
import { status, type ServerWritableStream } from '@grpc/grpc-js';
import type {
  ControlServer,
  CreateServiceRequest,
  GetNodeRequest,
  GetServiceRequest,
  ListNodesResponse,
  ListServicesResponse,
  ListTasksRequest,
  ListTasksResponse,
  ManagerInfo,
  CreateNetworkRequest,
  Event,
  EventsRequest,
  LookupServiceRequest,
  ServiceEndpoints,
  GetNetworkRequest,
  Network,
  NetworkDetail,
  RemoveNetworkRequest,
  RemoveNodeRequest,
  Node,
  RemoveServiceRequest,
  RemoveServiceResponse,
  ScaleServiceRequest,
  Service,
  UpdateNodeRequest,
  UpdateServiceRequest,
  RollbackServiceRequest,
  GetJoinTokensRequest,
  IssueClientCertificateRequest,
  RotateCARequest,
} from '../../proto/gen/shoal.js';
import { NodeStatus, ServiceMode } from '../../proto/gen/shoal.js';
import { AllocationError, Allocator } from '../allocator/allocator.js';
import { CidrError, HOST_PREFIX_LEN } from '../../proto/cidr.js';
import { TaskState } from '../../proto/task-state.js';
import { newId } from '../../proto/naming.js';
import type { ClusterState } from '../store/cluster-state.js';
import {
  ApiError,
  alreadyExists,
  failedPrecondition,
  invalidArgument,
  notFound,
  unimplemented,
  toServiceError,
  unary,
  unavailable,
} from '../errors.js';
import type { EndpointView } from '../discovery/view.js';
import type { SecurityApi } from './security-api.js';
import { validateReplicas, validateSpec, validateStoredSize, withUpdateDefaults } from './validate.js';
import {
  hostAddresses,
  validateEvents,
  validateListTasks,
  validateNetworkSpec,
  validateRef,
  validateUpdateNode,
} from './validate-requests.js';
import { serviceStatus } from './service-status.js';
import { checkPortConflicts } from './ports.js';
import type { Keyring } from '../secrets/keyring.js';
import { ConfigsApi } from './configs.js';
import { resolveFileRefs } from './file-refs.js';
import { SecretsApi } from './secrets.js';
import { rollbackService, updateService, type ServiceUpdateDeps } from './service-update.js';
import { logBroker } from '../logs/broker.js';
import { pinnedSpec } from '../images/pin.js';
import { dropRegistryAuth, storeRegistryAuth } from '../images/credentials.js';

/** What Events needs of manager/events/relay.ts's EventRelay. */
export interface EventFollower {
  follow(req: EventsRequest, write: (e: Event) => void, onError: (err: Error) => void): () => void;
}

export interface ControlApiDeps {
  state: ClusterState;
  /** Resolves once every write made so far is durable. */
  sync: () => Promise<void>;
  /** The managers sharing the store (one entry, this one, without HA). */
  managers?: () => Promise<ManagerInfo[]>;
  /** The manager's endpoint catalog (LookupService); without it, lookups are UNAVAILABLE. */
  endpoints?: EndpointView;
  /** The manager's event relay (Events); without it, Events is UNAVAILABLE. */
  events?: EventFollower;
  /** Join tokens, client certificates, the CA (the leader's); without it those calls are UNIMPLEMENTED. */
  security?: SecurityApi;
  /** Seals secrets (the leader's cluster key); without it CreateSecret is UNAVAILABLE. */
  keyring?: Keyring;
  now?: () => number;
}

export class ControlApi {
  private readonly state: ClusterState;
  private readonly now: () => number;

  constructor(private readonly deps: ControlApiDeps) {
    this.state = deps.state;
    this.now = deps.now ?? Date.now;
  }

  implementation(): ControlServer {
    return {
      listNodes: unary(async (): Promise<ListNodesResponse> => ({ nodes: this.sortedNodes() })),
      getNode: unary(async (req: GetNodeRequest) => this.findNode(req.ref)),
      updateNode: unary((req: UpdateNodeRequest) => this.updateNode(req)),
      createService: unary((req: CreateServiceRequest) => this.createService(req)),
      getService: unary(async (req: GetServiceRequest) => this.findService(req.ref)),
      listServices: unary(async (): Promise<ListServicesResponse> => ({
        services: [...this.state.services.values()]
          .sort((a, b) => a.spec!.name.localeCompare(b.spec!.name))
          .map((service) => ({ service, status: serviceStatus(this.state, service) })),
      })),
      scaleService: unary((req: ScaleServiceRequest) => this.scaleService(req)),
      updateService: unary((req: UpdateServiceRequest) => updateService(this.updateDeps(), req)),
      rollbackService: unary((req: RollbackServiceRequest) => rollbackService(this.updateDeps(), req)),
      serviceLogs: (call) => logBroker(this.state).serve(call),
      removeService: unary((req: RemoveServiceRequest) => this.removeService(req)),
      listTasks: unary(async (req: ListTasksRequest) => this.listTasks(req)),
      listManagers: unary(async () => ({ managers: (await this.deps.managers?.()) ?? [] })),
      removeNode: unary((req: RemoveNodeRequest) => this.removeNode(req)),
      createNetwork: unary((req: CreateNetworkRequest) => this.createNetwork(req)),
      getNetwork: unary(async (req: GetNetworkRequest) => this.networkDetail(this.findNetwork(req.ref))),
      listNetworks: unary(async () => ({
        networks: [...this.state.networks.values()]
          .sort((a, b) => a.spec!.name.localeCompare(b.spec!.name))
          .map((n) => this.networkDetail(n)),
      })),
      removeNetwork: unary((req: RemoveNetworkRequest) => this.removeNetwork(req)),
      lookupService: unary(async (req: LookupServiceRequest) => this.lookupService(req.name)),
      events: (call) => serveEvents(this.deps.events, call),
      ...new SecretsApi({ ...this.deps, now: this.now }).handlers(),
      ...new ConfigsApi({ ...this.deps, now: this.now }).handlers(),
      getJoinTokens: unary((req: GetJoinTokensRequest) => this.security().joinTokens(req)),
      issueClientCertificate: unary((req: IssueClientCertificateRequest) =>
        this.security().issueClientCertificate(req),
      ),
      inspectCa: unary(() => this.security().inspect()),
      rotateCa: unary((req: RotateCARequest) => this.security().rotate(req)),
    };
  }

  private updateDeps(): ServiceUpdateDeps {
    return {
      state: this.state,
      sync: this.deps.sync,
      now: this.now,
      findService: (ref) => this.findService(ref),
      keyring: this.deps.keyring,
    };
  }

  async updateNode(req: UpdateNodeRequest): Promise<Node> {
    validateUpdateNode(req);
    const node = this.findNode(req.ref);
    const labels = { ...node.labels, ...req.labelAdd };
    for (const k of req.labelRm) {
      if (!(k in labels)) throw notFound(`node ${node.description?.hostname} has no label "${k}"`);
      delete labels[k];
    }
    const updated: Node = {
      ...node,
      labels,
      availability: req.availability ?? node.availability,
      updatedAtMs: this.now(),
    };
    this.state.putNode(updated);
    await this.durable('nodes', node.id, () => this.state.putNode(node));
    return updated;
  }

  async createService(req: Pick<CreateServiceRequest, 'spec'> & Partial<CreateServiceRequest>): Promise<Service> {
    const spec = withUpdateDefaults(resolveFileRefs(this.state, await pinnedSpec(validateSpec(req.spec), req)));
    validateStoredSize(spec, spec.mode === ServiceMode.GLOBAL ? this.state.nodes.size : spec.replicas);
    checkPortConflicts(this.state, spec);
    if (this.state.serviceByName(spec.name)) throw alreadyExists(`service "${spec.name}" already exists`);
    // No --network: the default network, so services reach each other out of the box.
    if (spec.networks.length === 0) {
      const def = [...this.state.networks.values()].find((n) => n.isDefault);
      if (def) spec.networks = [def.spec!.name];
    }
    if (new Set(spec.networks).size !== spec.networks.length) throw invalidArgument('a network is given twice');
    for (const name of spec.networks)
      if (!this.state.networkByName(name)) throw notFound(`network "${name}" not found`);
    const now = this.now();
    const id = newId();
    const service: Service = {
      id,
      spec,
      specVersion: 1,
      createdAtMs: now,
      updatedAtMs: now,
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: storeRegistryAuth(this.state, this.deps.keyring, id, req.registryAuth ?? ''),
    };
    this.state.putService(service);
    await this.durable('services', id, () => (this.state.deleteService(id), dropRegistryAuth(this.state, id)));
    return service;
  }

  /** A read: any manager answers from its own catalog (watch-fed, never a per-call etcd read). */
  lookupService(name: string): ServiceEndpoints {
    validateRef(name, 'service');
    const view = this.deps.endpoints;
    if (!view || !view.loaded) throw unavailable('this manager is still loading the endpoints; try again shortly');
    const se = view.lookup(name);
    if (!se.exists) throw notFound(`no such service: ${name}`);
    return se;
  }

  async scaleService(req: ScaleServiceRequest): Promise<Service> {
    validateReplicas(req.replicas);
    const service = this.findService(req.ref);
    if (service.spec?.mode === ServiceMode.GLOBAL)
      throw failedPrecondition(`service "${service.spec.name}" is global: scale works on replicated services only`);
    validateStoredSize(service.spec!, req.replicas);
    const updated: Service = {
      ...service,
      spec: { ...service.spec!, replicas: req.replicas },
      updatedAtMs: this.now(),
    };
    this.state.putService(updated);
    await this.durable('services', service.id, () => this.state.putService(service));
    return updated;
  }

  async removeService(req: RemoveServiceRequest): Promise<RemoveServiceResponse> {
    const service = this.findService(req.ref);
    this.state.deleteService(service.id);
    dropRegistryAuth(this.state, service.id);
    await this.deps.sync();
    return {};
  }

  private security(): SecurityApi {
    if (!this.deps.security) throw unimplemented('this manager has no certificate authority');
    return this.deps.security;
  }

  async removeNode(req: RemoveNodeRequest): Promise<Record<string, never>> {
    const node = this.findNode(req.ref);
    const name = node.description?.hostname ?? node.id;
    if (node.status !== NodeStatus.DOWN && !req.force) {
      throw failedPrecondition(`node ${name} is not down: stop its agent first, or use --force`);
    }
    // Its certificate first: an agent still running is refused when it registers again.
    await this.deps.security?.revoke(node.id);
    // Its tasks are forgotten (replicated ones are replaced elsewhere), its leases released.
    for (const t of this.state.tasksOnNode(node.id)) this.state.deleteTask(t.id);
    this.state.deleteNode(node.id);
    for (const [id, lease] of this.state.leases) if (lease.nodeId === node.id) this.state.deleteLease(id);
    await this.deps.sync();
    return {};
  }

  async createNetwork(req: CreateNetworkRequest): Promise<Network> {
    const managers = (await this.deps.managers?.()) ?? [];
    const spec = validateNetworkSpec(
      req.spec,
      hostAddresses(
        this.state.nodes.values(),
        managers.map((m) => m.address),
      ),
    );
    if (this.state.networkByName(spec.name)) throw alreadyExists(`network "${spec.name}" already exists`);
    // Only to choose (it follows the state while open): the leader's control loop has its own.
    const allocator = new Allocator(this.state, this.now);
    let network: Network;
    try {
      let subnet: string;
      try {
        subnet = allocator.chooseSubnet(spec.subnet);
      } catch (err) {
        if (err instanceof AllocationError || err instanceof CidrError)
          throw invalidArgument(err.message, { cause: err });
        throw err;
      }
      network = {
        id: newId(),
        spec: { ...spec, subnet },
        vni: allocator.nextVni(),
        hostPrefixLen: HOST_PREFIX_LEN,
        isDefault: false,
        createdAtMs: this.now(),
      };
    } finally {
      await allocator.close();
    }
    this.state.putNetwork(network);
    await this.durable('networks', network.id, () => this.state.deleteNetwork(network.id));
    return network;
  }

  async removeNetwork(req: RemoveNetworkRequest): Promise<Record<string, never>> {
    const network = this.findNetwork(req.ref);
    const name = network.spec!.name;
    if (network.isDefault) throw failedPrecondition(`network "${name}" is the default network and cannot be removed`);
    const users = this.servicesOn(name);
    if (users.length > 0)
      throw failedPrecondition(
        `network "${name}" is in use by service${users.length > 1 ? 's' : ''} ${users.join(', ')}`,
      );
    const stillRunning = [...this.state.tasks.values()].some(
      (t) => t.spec?.networks.includes(name) && (t.status?.state ?? 0) < TaskState.COMPLETE,
    );
    if (stillRunning)
      throw failedPrecondition(`network "${name}" still has tasks stopping on it; try again in a moment`);
    this.state.deleteNetwork(network.id);
    for (const [id, lease] of this.state.leases) if (lease.networkId === network.id) this.state.deleteLease(id);
    await this.deps.sync();
    return {};
  }

  findNetwork(ref: string): Network {
    validateRef(ref, 'network');
    const byName = this.state.networkByName(ref);
    if (byName) return byName;
    const byId = this.state.networks.get(ref);
    if (byId) return byId;
    const prefixed = [...this.state.networks.values()].filter((n) => n.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    throw notFound(`network "${ref}" not found`);
  }

  private servicesOn(networkName: string): string[] {
    return [...this.state.services.values()]
      .filter((s) => s.spec?.networks.includes(networkName))
      .map((s) => s.spec!.name)
      .sort();
  }

  private networkDetail(network: Network): NetworkDetail {
    const leases = [...this.state.leases.values()]
      .filter((l) => l.networkId === network.id)
      .sort((a, b) => a.subnet.localeCompare(b.subnet));
    return { network, leases, services: this.servicesOn(network.spec!.name) };
  }

  listTasks(req: ListTasksRequest): ListTasksResponse {
    validateListTasks(req);
    let tasks = req.service
      ? this.state.tasksOfService(this.findService(req.service).id)
      : [...this.state.tasks.values()];
    if (req.node) {
      const node = this.findNode(req.node);
      tasks = tasks.filter((t) => t.nodeId === node.id);
    }
    tasks.sort(
      (a, b) =>
        a.serviceName.localeCompare(b.serviceName) ||
        a.slot - b.slot ||
        a.nodeId.localeCompare(b.nodeId) ||
        b.createdAtMs - a.createdAtMs,
    );
    return { tasks };
  }

  // ------------------------------------------------------------ references

  findService(ref: string): Service {
    validateRef(ref, 'service');
    const byName = this.state.serviceByName(ref);
    if (byName) return byName;
    const byId = this.state.services.get(ref);
    if (byId) return byId;
    const prefixed = [...this.state.services.values()].filter((s) => s.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (prefixed.length > 1) throw invalidArgument(`service id prefix "${ref}" is ambiguous`);
    throw notFound(`service "${ref}" not found`);
  }

  findNode(ref: string): Node {
    validateRef(ref, 'node');
    const byId = this.state.nodes.get(ref);
    if (byId) return byId;
    const nodes = [...this.state.nodes.values()];
    const byName = nodes.filter((n) => n.description?.hostname === ref);
    if (byName.length === 1) return byName[0]!;
    const prefixed = nodes.filter((n) => n.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (byName.length > 1 || prefixed.length > 1)
      throw invalidArgument(`node reference "${ref}" is ambiguous: use the node id`);
    throw notFound(`node "${ref}" not found`);
  }

  /**
   * Waits until the write of `kind/id` is durable; when the store refused it for good (too
   * large, invalid: store/writer.ts), puts the state back with `undo` and fails the call.
   */
  private async durable(kind: 'services' | 'nodes' | 'networks', id: string, undo: () => void): Promise<void> {
    await this.deps.sync();
    const refusal = this.state.refusal(kind, id);
    if (refusal === undefined) return;
    undo();
    throw invalidArgument(`not stored: ${refusal.message}`, { cause: refusal });
  }

  private sortedNodes(): Node[] {
    return [...this.state.nodes.values()].sort((a, b) =>
      (a.description?.hostname ?? '').localeCompare(b.description?.hostname ?? ''),
    );
  }
}

/**
 * Events waiting to be sent to one client before its stream is ended with
 * RESOURCE_EXHAUSTED (an event is ~0.3-1 KB: a few MB at most per slow client). The CLI
 * reconnects and says events were missed.
 */
export const MAX_QUEUED_EVENTS = 4_096;

/**
 * Control.Events: follows the relay until the client cancels. Served by every manager from
 * its own NATS subscription, never forwarded.
 */
export function serveEvents(relay: EventFollower | undefined, call: ServerWritableStream<EventsRequest, Event>): void {
  try {
    validateEvents(call.request);
  } catch (err) {
    call.emit('error', toServiceError(err));
    return;
  }
  if (!relay) {
    call.emit('error', toServiceError(unavailable('events are not available on this manager')));
    return;
  }
  let done = false;
  let stop: (() => void) | undefined;
  const finish = () => {
    if (done) return;
    done = true;
    stop?.();
  };
  try {
    stop = relay.follow(
      call.request,
      (e) => {
        if (done) return;
        if (call.writableLength >= MAX_QUEUED_EVENTS) {
          finish();
          const why = `events: this client reads too slowly (${MAX_QUEUED_EVENTS} events waiting to be sent): stream ended, reconnect to follow again`;
          call.emit('error', toServiceError(new ApiError(status.RESOURCE_EXHAUSTED, why)));
          return;
        }
        call.write(e);
      },
      (err) => {
        if (done) return;
        finish();
        call.emit(
          'error',
          toServiceError(err instanceof ApiError ? err : unavailable(`events: ${err.message}`, { cause: err })),
        );
      },
    );
  } catch (err) {
    done = true;
    call.emit('error', toServiceError(err));
    return;
  }
  if (done) stop();
  call.on('cancelled', finish);
  call.on('close', finish);
  call.on('error', finish);
}
