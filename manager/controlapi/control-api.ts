// User-facing gRPC: validates requests and writes desired state, nothing else. Every
// write is durable in the store before the call returns.
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
  Node,
  RemoveServiceRequest,
  RemoveServiceResponse,
  ScaleServiceRequest,
  Service,
  UpdateNodeRequest,
} from '../../proto/gen/shoal.js';
import { Availability, ServiceMode } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import type { ClusterState } from '../store/cluster-state.js';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, unary } from '../errors.js';
import { validateReplicas, validateSpec } from './validate.js';
import { serviceStatus } from './service-status.js';

export interface ControlApiDeps {
  state: ClusterState;
  /** Resolves once every write made so far is durable. */
  sync: () => Promise<void>;
  /** The managers sharing the store (one entry, this one, without HA). */
  managers?: () => Promise<ManagerInfo[]>;
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
      removeService: unary((req: RemoveServiceRequest) => this.removeService(req)),
      listTasks: unary(async (req: ListTasksRequest) => this.listTasks(req)),
      listManagers: unary(async () => ({ managers: (await this.deps.managers?.()) ?? [] })),
    };
  }

  async updateNode(req: UpdateNodeRequest): Promise<Node> {
    const node = this.findNode(req.ref);
    if (req.availability !== undefined && !(req.availability in Availability)) throw invalidArgument(`invalid availability ${req.availability}`);
    for (const k of Object.keys(req.labelAdd)) if (!k) throw invalidArgument('label key must not be empty');
    const labels = { ...node.labels, ...req.labelAdd };
    for (const k of req.labelRm) {
      if (!(k in labels)) throw notFound(`node ${node.description?.hostname} has no label "${k}"`);
      delete labels[k];
    }
    const updated: Node = { ...node, labels, availability: req.availability ?? node.availability, updatedAtMs: this.now() };
    this.state.putNode(updated);
    await this.deps.sync();
    return updated;
  }

  async createService(req: CreateServiceRequest): Promise<Service> {
    const spec = validateSpec(req.spec);
    if (this.state.serviceByName(spec.name)) throw alreadyExists(`service "${spec.name}" already exists`);
    const now = this.now();
    const service: Service = { id: newId(), spec, specVersion: 1, createdAtMs: now, updatedAtMs: now };
    this.state.putService(service);
    await this.deps.sync();
    return service;
  }

  async scaleService(req: ScaleServiceRequest): Promise<Service> {
    const service = this.findService(req.ref);
    if (service.spec?.mode === ServiceMode.GLOBAL) throw failedPrecondition(`service "${service.spec.name}" is global: scale works on replicated services only`);
    validateReplicas(req.replicas);
    const updated: Service = { ...service, spec: { ...service.spec!, replicas: req.replicas }, updatedAtMs: this.now() };
    this.state.putService(updated);
    await this.deps.sync();
    return updated;
  }

  async removeService(req: RemoveServiceRequest): Promise<RemoveServiceResponse> {
    const service = this.findService(req.ref);
    this.state.deleteService(service.id);
    await this.deps.sync();
    return {};
  }

  listTasks(req: ListTasksRequest): ListTasksResponse {
    let tasks = req.service ? this.state.tasksOfService(this.findService(req.service).id) : [...this.state.tasks.values()];
    if (req.node) {
      const node = this.findNode(req.node);
      tasks = tasks.filter((t) => t.nodeId === node.id);
    }
    tasks.sort((a, b) => a.serviceName.localeCompare(b.serviceName) || a.slot - b.slot || a.nodeId.localeCompare(b.nodeId) || b.createdAtMs - a.createdAtMs);
    return { tasks };
  }

  // ------------------------------------------------------------ references

  findService(ref: string): Service {
    if (!ref) throw invalidArgument('a service name or id is required');
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
    if (!ref) throw invalidArgument('a node name or id is required');
    const byId = this.state.nodes.get(ref);
    if (byId) return byId;
    const nodes = [...this.state.nodes.values()];
    const byName = nodes.filter((n) => n.description?.hostname === ref);
    if (byName.length === 1) return byName[0]!;
    const prefixed = nodes.filter((n) => n.id.startsWith(ref));
    if (prefixed.length === 1) return prefixed[0]!;
    if (byName.length > 1 || prefixed.length > 1) throw invalidArgument(`node reference "${ref}" is ambiguous: use the node id`);
    throw notFound(`node "${ref}" not found`);
  }

  private sortedNodes(): Node[] {
    return [...this.state.nodes.values()].sort((a, b) => (a.description?.hostname ?? '').localeCompare(b.description?.hostname ?? ''));
  }
}
