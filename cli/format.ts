// Rows and tables: Node, Task and Service messages turned into the flat objects printed by
// `--format json` / `inspect`, and into docker-like aligned tables. Pure.
import {
  Availability,
  type Endpoint,
  type Event,
  type HealthConfig,
  type ManagerInfo,
  type NetworkAddress,
  type NetworkDetail,
  type Node,
  NodeStatus,
  type PortConfig,
  PublishMode,
  type Resources,
  RestartCondition,
  type RestartPolicy,
  type Service,
  ServiceMode,
  type ServiceStatus,
  type Task,
} from '../proto/gen/shoal.js';
import { stateName } from '../proto/task-state.js';

const SHORT_ID = 12; // docker's truncated id length

// ------------------------------------------------------------------ nodes

export interface NodeRow {
  id: string;
  hostname: string;
  status: 'ready' | 'down' | 'unknown';
  statusMessage: string;
  availability: 'active' | 'pause' | 'drain';
  /** User labels merged over engine labels (what constraints on node.labels see). */
  labels: Record<string, string>;
  engineLabels: Record<string, string>;
  userLabels: Record<string, string>;
  engineVersion: string;
  os: string;
  arch: string;
  address: string;
  cpus: number;
  memoryBytes: number;
  createdAt: string | null;
  updatedAt: string | null;
}

function nodeStatusName(s: NodeStatus): NodeRow['status'] {
  return s === NodeStatus.READY ? 'ready' : s === NodeStatus.DOWN ? 'down' : 'unknown';
}

function availabilityName(a: Availability): NodeRow['availability'] {
  return a === Availability.PAUSE ? 'pause' : a === Availability.DRAIN ? 'drain' : 'active';
}

export function isoTime(ms: number): string | null {
  return ms > 0 ? new Date(ms).toISOString() : null;
}

export function nodeRow(node: Node): NodeRow {
  const d = node.description;
  const engineLabels = { ...(d?.labels ?? {}) };
  const userLabels = { ...node.labels };
  return {
    id: node.id,
    hostname: d?.hostname ?? '',
    status: nodeStatusName(node.status),
    statusMessage: node.statusMessage,
    availability: availabilityName(node.availability),
    labels: { ...engineLabels, ...userLabels },
    engineLabels,
    userLabels,
    engineVersion: d?.engineVersion ?? '',
    os: d?.os ?? '',
    arch: d?.arch ?? '',
    address: d?.address ?? '',
    cpus: (d?.resources?.nanoCpus ?? 0) / 1e9,
    memoryBytes: d?.resources?.memoryBytes ?? 0,
    createdAt: isoTime(node.createdAtMs),
    updatedAt: isoTime(node.updatedAtMs),
  };
}

export function sortNodeRows(rows: NodeRow[]): NodeRow[] {
  return [...rows].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
}

export function nodeTable(rows: NodeRow[]): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'ENGINE VERSION'],
    rows.map((r) => [r.id, r.hostname, capitalize(r.status), capitalize(r.availability), r.engineVersion]),
  );
}

// ------------------------------------------------------------------ services

export interface ResourcesRow {
  cpus: number;
  memoryBytes: number;
}

export interface RestartRow {
  condition: 'any' | 'on-failure' | 'none';
  /** null: not set, the manager's default (1 s). */
  delayMs: number | null;
  /** 0 = unlimited. */
  maxAttempts: number;
  /** 0 = every restart counts. */
  windowMs: number;
}

export interface HealthRow {
  /** docker's form: ["CMD-SHELL", "..."], ["NONE"], or [] for the image's HEALTHCHECK. */
  test: string[];
  /** 0 = the engine's default (interval and timeout 30s, 3 retries, no start period). */
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
}

/** A published port, in the words of `--publish`'s long form. */
export interface PortRow {
  published: number;
  target: number;
  protocol: string;
  /** ingress: every host accepts it (routing mesh); host: only the hosts running a task. */
  mode: 'ingress' | 'host';
}

export function portRow(p: PortConfig): PortRow {
  return {
    published: p.publishedPort,
    target: p.targetPort,
    protocol: p.protocol || 'tcp',
    mode: p.publishMode === PublishMode.HOST ? 'host' : 'ingress',
  };
}

/**
 * docker's PORTS cell: `*:8080->80/tcp` for the routing mesh; a host-mode port as
 * `HOST:53->53/udp`, where HOST is `host` (any host running a task) unless a node's address
 * is given (`service lookup`: where this endpoint is reachable).
 */
export function portsText(ports: readonly PortRow[], nodeAddress = 'host'): string {
  return ports
    .map((p) => `${p.mode === 'host' ? nodeAddress : '*'}:${p.published}->${p.target}/${p.protocol}`)
    .join(', ');
}

export interface ServiceRow {
  id: string;
  name: string;
  mode: 'replicated' | 'global';
  /** Desired tasks: the replica count, or the eligible nodes of a global service. */
  replicas: number;
  running: number;
  desired: number;
  stopping: number;
  pendingReason: string;
  image: string;
  command: string[];
  constraints: string[];
  env: string[];
  labels: Record<string, string>;
  reservations: ResourcesRow | null;
  limits: ResourcesRow | null;
  /** null: not set, the manager's default (10 s). */
  stopGracePeriodMs: number | null;
  /** null: not set, the manager's default (any, 1 s delay, unlimited). */
  restart: RestartRow | null;
  /** null: no --health-* flag, the image's HEALTHCHECK as it is. */
  health: HealthRow | null;
  /** The networks named at create (`--network`); empty: the cluster's default network. */
  networks: string[];
  /** Published ports (`--publish`). */
  ports: PortRow[];
  specVersion: number;
  createdAt: string | null;
  updatedAt: string | null;
}

function resourcesRow(r: Resources | undefined): ResourcesRow | null {
  return r === undefined ? null : { cpus: r.nanoCpus / 1e9, memoryBytes: r.memoryBytes };
}

function restartConditionName(c: RestartCondition): RestartRow['condition'] {
  return c === RestartCondition.NONE ? 'none' : c === RestartCondition.ON_FAILURE ? 'on-failure' : 'any';
}

function restartRow(r: RestartPolicy | undefined): RestartRow | null {
  if (r === undefined) return null;
  return {
    condition: restartConditionName(r.condition),
    delayMs: r.delayMs ?? null,
    maxAttempts: r.maxAttempts,
    windowMs: r.windowMs,
  };
}

function healthRow(h: HealthConfig | undefined): HealthRow | null {
  if (h === undefined) return null;
  return {
    test: [...h.test],
    intervalMs: h.intervalMs,
    timeoutMs: h.timeoutMs,
    retries: h.retries,
    startPeriodMs: h.startPeriodMs,
  };
}

/** A service row; without a status (not listed) running/desired fall back to the spec. */
export function serviceRow(service: Service, status: ServiceStatus | undefined): ServiceRow {
  const spec = service.spec;
  const global = spec?.mode === ServiceMode.GLOBAL;
  const desired = status?.desired ?? (global ? 0 : (spec?.replicas ?? 0));
  return {
    id: service.id,
    name: spec?.name ?? '',
    mode: global ? 'global' : 'replicated',
    replicas: desired,
    running: status?.running ?? 0,
    desired,
    stopping: status?.stopping ?? 0,
    pendingReason: status?.pendingReason ?? '',
    image: spec?.image ?? '',
    command: [...(spec?.command ?? [])],
    constraints: [...(spec?.constraints ?? [])],
    env: [...(spec?.env ?? [])],
    labels: { ...(spec?.labels ?? {}) },
    reservations: resourcesRow(spec?.reservations),
    limits: resourcesRow(spec?.limits),
    stopGracePeriodMs: spec?.stopGracePeriodMs ?? null,
    restart: restartRow(spec?.restart),
    health: healthRow(spec?.health),
    networks: [...(spec?.networks ?? [])],
    ports: (spec?.ports ?? []).map(portRow),
    specVersion: service.specVersion,
    createdAt: isoTime(service.createdAtMs),
    updatedAt: isoTime(service.updatedAtMs),
  };
}

export function sortServiceRows(rows: ServiceRow[]): ServiceRow[] {
  return [...rows].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export function serviceTable(rows: ServiceRow[], noTrunc = false): string {
  return table(
    ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
    rows.map((r) => [shortId(r.id, noTrunc), r.name, r.mode, `${r.running}/${r.desired}`, r.image, portsText(r.ports)]),
  );
}

// ------------------------------------------------------------------ tasks

export interface TaskRow {
  id: string;
  /** `service.slot` (a global task: `service.<node id prefix>`), as in container names. */
  name: string;
  service: string;
  serviceId: string;
  slot: number;
  /** Hostname of the node; the node id if the node is unknown; "" while unassigned. */
  node: string;
  nodeId: string;
  image: string;
  desiredState: string;
  state: string;
  error: string;
  message: string;
  containerId: string;
  exitCode: number;
  /** The container's address on each of its networks, once it runs. */
  addresses: NetworkAddress[];
  specVersion: number;
  createdAt: string | null;
  updatedAt: string | null;
}

export function taskName(task: Pick<Task, 'serviceName' | 'slot' | 'nodeId'>): string {
  const slotPart = task.slot > 0 ? String(task.slot) : task.nodeId.slice(0, SHORT_ID);
  return `${task.serviceName}.${slotPart}`;
}

/** `hostnames` maps node id -> hostname (from ListNodes). */
export function taskRow(task: Task, hostnames: ReadonlyMap<string, string>): TaskRow {
  const s = task.status;
  const updatedMs = s?.timestampMs || task.createdAtMs;
  return {
    id: task.id,
    name: taskName(task),
    service: task.serviceName,
    serviceId: task.serviceId,
    slot: task.slot,
    node: task.nodeId === '' ? '' : (hostnames.get(task.nodeId) ?? task.nodeId),
    nodeId: task.nodeId,
    image: task.spec?.image ?? '',
    desiredState: stateName(task.desiredState),
    state: stateName(s?.state ?? 0),
    error: s?.err ?? '',
    message: s?.message ?? '',
    containerId: s?.containerId ?? '',
    exitCode: s?.exitCode ?? 0,
    addresses: (s?.addresses ?? []).map((a) => ({ network: a.network, ip: a.ip })),
    specVersion: task.specVersion,
    createdAt: isoTime(task.createdAtMs),
    updatedAt: isoTime(updatedMs),
  };
}

/**
 * As docker: by service, then slot (a global task: by node), newest task first within a
 * slot (the manager keeps a few ended tasks per slot as history).
 */
export function sortTaskRows(rows: TaskRow[]): TaskRow[] {
  return [...rows].sort(
    (a, b) =>
      a.service.localeCompare(b.service) ||
      a.serviceId.localeCompare(b.serviceId) ||
      a.slot - b.slot ||
      // A replicated slot's tasks may have run on different nodes: only global tasks group by node.
      (a.slot === 0 ? a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId) : 0) ||
      (b.createdAt ?? '').localeCompare(a.createdAt ?? '') ||
      (b.updatedAt ?? '').localeCompare(a.updatedAt ?? '') ||
      a.id.localeCompare(b.id),
  );
}

/**
 * Docker's `service ps` table. Rows come sorted (sortTaskRows); a task of the same slot as
 * the row above it is history and its NAME is shown as ` \_ web.1`, as docker does.
 */
export function taskTable(rows: TaskRow[], nowMs: number, noTrunc = false): string {
  return table(
    ['ID', 'NAME', 'NODE', 'DESIRED STATE', 'CURRENT STATE', 'ERROR'],
    rows.map((r, i) => {
      const since = r.updatedAt === null ? '' : ` ${humanDuration(nowMs - Date.parse(r.updatedAt))} ago`;
      const above = rows[i - 1];
      const history = above !== undefined && above.serviceId === r.serviceId && above.name === r.name;
      return [
        shortId(r.id, noTrunc),
        history ? ` \\_ ${r.name}` : r.name,
        r.node,
        capitalize(r.desiredState),
        `${capitalize(r.state)}${since}`,
        oneLine(r.error),
      ];
    }),
  );
}

// ------------------------------------------------------------------ endpoints (service lookup)

/** `service lookup --format json`: one endpoint, a task programs can reach. */
export interface EndpointRow {
  /** `web.1` (a global task: `web.<node id prefix>`), as in `service ps`. */
  task: string;
  taskId: string;
  service: string;
  serviceId: string;
  slot: number;
  /** The node's hostname. */
  node: string;
  nodeId: string;
  /** The node's underlay address (where its host-mode ports are). */
  nodeAddress: string;
  /** The task's address on each of its networks. */
  addresses: NetworkAddress[];
  ports: PortRow[];
  /** True when the task has a health check (and it passes); false: no check. */
  healthChecked: boolean;
  registeredAt: string | null;
}

export function endpointRow(e: Endpoint): EndpointRow {
  return {
    task: taskName({ serviceName: e.serviceName, slot: e.slot, nodeId: e.nodeId }),
    taskId: e.taskId,
    service: e.serviceName,
    serviceId: e.serviceId,
    slot: e.slot,
    node: e.nodeName || e.nodeId,
    nodeId: e.nodeId,
    nodeAddress: e.nodeAddress,
    addresses: e.addresses.map((a) => ({ network: a.network, ip: a.ip })),
    ports: e.ports.map(portRow),
    healthChecked: e.healthChecked,
    registeredAt: isoTime(e.registeredAtMs),
  };
}

/** By slot (a global service: by node), then task id. */
export function sortEndpointRows(rows: EndpointRow[]): EndpointRow[] {
  return [...rows].sort((a, b) => a.slot - b.slot || a.node.localeCompare(b.node) || a.taskId.localeCompare(b.taskId));
}

/**
 * Columns `TASK ID NODE IP PORTS HEALTH`: IP is `network=ip` for each network, PORTS as in
 * `service ls` with host-mode ports at the node's address, HEALTH `healthy` (a passing
 * check) or `no check`.
 */
export function endpointTable(rows: EndpointRow[], noTrunc = false): string {
  return table(
    ['TASK', 'ID', 'NODE', 'IP', 'PORTS', 'HEALTH'],
    rows.map((r) => [
      r.task,
      shortId(r.taskId, noTrunc),
      r.node,
      r.addresses.map((a) => `${a.network}=${a.ip}`).join(','),
      portsText(r.ports, r.nodeAddress || 'host'),
      r.healthChecked ? 'healthy' : 'no check',
    ]),
  );
}

// ------------------------------------------------------------------ events

/** `shoal events --format json`: one per line. */
export interface EventRow {
  time: string | null;
  type: string;
  subject: string;
  /** The published JSON object (the raw text if it is not JSON). */
  payload: unknown;
}

function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function eventRow(e: Event): EventRow {
  return { time: isoTime(e.timeMs), type: e.type, subject: e.subject, payload: parsePayload(e.payloadJson) };
}

/** Payload fields shown under a shorter name in the text form. */
const EVENT_FIELD_NAMES: Record<string, string> = {
  nodeId: 'node',
  nodeName: 'node',
  hostname: 'node',
  taskId: 'task',
  serviceName: 'service',
  serviceId: 'service',
  desiredState: 'desired',
  containerId: 'container',
  addresses: 'ip',
};

/** A port as the publisher puts it in an endpoint event (publishMode `ingress` | `host`). */
interface EventPort {
  publishedPort: number;
  targetPort: number;
  protocol?: string;
  publishMode?: unknown;
}

function isEventPort(v: unknown): v is EventPort {
  const p = v as Partial<EventPort> | null;
  return typeof p === 'object' && p !== null && typeof p.publishedPort === 'number' && typeof p.targetPort === 'number';
}

function eventValue(key: string, value: unknown): string | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  if (key === 'containerId' && typeof value === 'string') return value.slice(0, SHORT_ID);
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    // [{ network, ip }, ...] -> 10.42.2.3,10.50.1.4
    if (value.every((v) => typeof v === 'object' && v !== null && typeof (v as { ip?: unknown }).ip === 'string')) {
      return value.map((v) => (v as { ip: string }).ip).join(',');
    }
    // [{ publishedPort, targetPort, protocol, publishMode }, ...] -> *:8080->80/tcp,host:53->53/udp
    if (value.every(isEventPort)) {
      const host = (p: EventPort): boolean => p.publishMode === 'host' || p.publishMode === PublishMode.HOST;
      return value
        .map((p) => `${host(p) ? 'host' : '*'}:${p.publishedPort}->${p.targetPort}/${p.protocol || 'tcp'}`)
        .join(',');
    }
    return JSON.stringify(value);
  }
  if (typeof value === 'object') return JSON.stringify(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value); // a number or boolean
  return /[\s"]/.test(text) ? JSON.stringify(text) : text;
}

/**
 * One line per event: `<ISO time> <type> <action> <name> <key=value...>`, e.g.
 * `2026-12-01T10:00:00.123Z endpoint registered web.1 task=abc node=host2 ip=10.42.2.3`.
 * The action is the payload's `type` (created, updated, ...; for health events, the health);
 * the name is the task (`web.1`), the node's hostname or the service's name; every other
 * payload field follows, empty ones left out.
 */
export function eventLine(e: Event): string {
  const payload = parsePayload(e.payloadJson);
  const head = [isoTime(e.timeMs) ?? new Date(0).toISOString(), e.type];
  const subjectName = e.subject.split('.').at(-1) ?? '';
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    return [...head, 'event', subjectName, eventValue('payload', payload) ?? ''].join(' ').trimEnd();
  }
  const fields = { ...(payload as Record<string, unknown>) };
  const take = (key: string): unknown => {
    const v = fields[key];
    delete fields[key];
    return v;
  };
  const str = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' ? String(v) : '');

  const action = str(e.type === 'health' ? take('health') : take('type')) || str(take('action')) || 'event';
  let name: string;
  let id: unknown; // a node's or service's id, shown first
  if (typeof fields.slot === 'number' && typeof (fields.service ?? fields.serviceName) === 'string') {
    const service = str(fields.service ?? fields.serviceName);
    const nodeId = str(fields.nodeId);
    name = taskName({ serviceName: service, slot: Number(take('slot')), nodeId });
    if (typeof fields.service === 'string') take('service');
    else take('serviceName');
  } else if (e.type === 'node' && typeof fields.hostname === 'string') {
    name = str(take('hostname'));
    if ('node' in fields) id = take('node'); // the node's id
  } else if (e.type === 'service' && typeof fields.name === 'string') {
    name = str(take('name'));
    if ('service' in fields) id = take('service'); // the service's id
  } else {
    name = subjectName;
  }

  const shown = new Set<string>();
  const details: string[] = [];
  // A node's hostname (`nodeName`, or `node` outside node events) reads better than its id.
  const hostname = fields.nodeName ?? (e.type === 'node' ? undefined : fields.node);
  if (typeof hostname === 'string' && hostname !== '') delete fields.nodeId;
  for (const [key, value] of [['id', id] as const, ...Object.entries(fields)]) {
    const label = EVENT_FIELD_NAMES[key] ?? key;
    const text = eventValue(key, value);
    if (text === undefined || shown.has(label)) continue;
    shown.add(label);
    details.push(`${label}=${text}`);
  }
  return [...head, action, name, ...details].join(' ');
}

// ------------------------------------------------------------------ networks

/** `network ls --format json`: one network, with counts. */
export interface NetworkRow {
  id: string;
  name: string;
  subnet: string;
  vni: number;
  /** The network services join when they name none. */
  default: boolean;
  /** How many services are on it. */
  services: number;
  /** How many hosts hold a subnet lease on it. */
  hosts: number;
}

export interface LeaseRow {
  /** Hostname of the node; its id when the node is unknown (e.g. removed). */
  node: string;
  nodeId: string;
  /** The host's part of the network, e.g. 10.43.7.0/24. */
  subnet: string;
  /** Where VXLAN packets for that subnet go. */
  nodeAddress: string;
}

/** `network inspect`: the network, its leases and its services. */
export interface NetworkInspectRow {
  id: string;
  name: string;
  subnet: string;
  vni: number;
  hostPrefixLen: number;
  default: boolean;
  labels: Record<string, string>;
  createdAt: string | null;
  leases: LeaseRow[];
  services: string[];
}

export function networkRow(detail: NetworkDetail): NetworkRow {
  const n = detail.network;
  return {
    id: n?.id ?? '',
    name: n?.spec?.name ?? '',
    subnet: n?.spec?.subnet ?? '',
    vni: n?.vni ?? 0,
    default: n?.isDefault ?? false,
    services: detail.services.length,
    hosts: new Set(detail.leases.map((l) => l.nodeId)).size,
  };
}

/** `hostnames` maps node id -> hostname (from ListNodes). Leases by hostname, services by name. */
export function networkInspectRow(detail: NetworkDetail, hostnames: ReadonlyMap<string, string>): NetworkInspectRow {
  const n = detail.network;
  const leases = detail.leases
    .map((l) => ({
      node: hostnames.get(l.nodeId) || l.nodeId,
      nodeId: l.nodeId,
      subnet: l.subnet,
      nodeAddress: l.nodeAddress,
    }))
    .sort(
      (a, b) => a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId) || a.subnet.localeCompare(b.subnet),
    );
  return {
    id: n?.id ?? '',
    name: n?.spec?.name ?? '',
    subnet: n?.spec?.subnet ?? '',
    vni: n?.vni ?? 0,
    hostPrefixLen: n?.hostPrefixLen ?? 0,
    default: n?.isDefault ?? false,
    labels: { ...(n?.spec?.labels ?? {}) },
    createdAt: isoTime(n?.createdAtMs ?? 0),
    leases,
    services: [...detail.services].sort((a, b) => a.localeCompare(b)),
  };
}

export function sortNetworkRows(rows: NetworkRow[]): NetworkRow[] {
  return [...rows].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Columns `NETWORK ID NAME SUBNET VNI DEFAULT SERVICES`; DEFAULT is `yes` or empty. */
export function networkTable(rows: NetworkRow[], noTrunc = false): string {
  return table(
    ['NETWORK ID', 'NAME', 'SUBNET', 'VNI', 'DEFAULT', 'SERVICES'],
    rows.map((r) => [
      shortId(r.id, noTrunc),
      r.name,
      r.subnet,
      String(r.vni),
      r.default ? 'yes' : '',
      String(r.services),
    ]),
  );
}

// ------------------------------------------------------------------ managers

export interface ManagerRow {
  id: string;
  /** Where its gRPC services listen. */
  address: string;
  leader: boolean;
  startedAt: string | null;
}

export function managerRow(m: ManagerInfo): ManagerRow {
  return { id: m.id, address: m.address, leader: m.leader, startedAt: isoTime(m.startedAtMs) };
}

export function sortManagerRows(rows: ManagerRow[]): ManagerRow[] {
  return [...rows].sort((a, b) => a.address.localeCompare(b.address) || a.id.localeCompare(b.id));
}

/** LEADER is `Leader` or `Reachable`, like the MANAGER STATUS of `docker node ls`. */
export function managerTable(rows: ManagerRow[], nowMs: number): string {
  return table(
    ['ID', 'ADDRESS', 'LEADER', 'STARTED'],
    rows.map((r) => [
      r.id,
      r.address,
      r.leader ? 'Leader' : 'Reachable',
      r.startedAt === null ? '' : `${humanDuration(nowMs - Date.parse(r.startedAt))} ago`,
    ]),
  );
}

// ------------------------------------------------------------------ helpers

/** Pretty JSON as printed by every `--format json` and `inspect` (always an array). */
export function jsonArray(rows: readonly unknown[]): string {
  return JSON.stringify(rows, null, 2);
}

function shortId(id: string, noTrunc: boolean): string {
  return noTrunc ? id : id.slice(0, SHORT_ID);
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** docker's go-units HumanDuration: "Less than a second", "5 seconds", "About a minute", ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(Math.max(0, ms) / 1000);
  const minutes = Math.round(seconds / 60);
  const hours = Math.round(seconds / 3600);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

/** Short form of a duration in ms: "2m", "1m30s", "500ms". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = (ms % 60_000) / 1000;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

const MIN_CELL = 10; // docker's tabwriter: min width 10, padding 3
const PADDING = 3;

/** Left-aligned columns like docker's tabwriter; the last column is not padded. */
export function table(headers: string[], rows: string[][]): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, col) => Math.max(MIN_CELL, ...all.map((row) => (row[col] ?? '').length + PADDING)));
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
