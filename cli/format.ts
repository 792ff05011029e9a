// Rows and tables: Node, Task and Service messages turned into the flat objects printed by
// `--format json` / `inspect`, and into docker-like aligned tables. Pure.
import {
  Availability,
  type HealthConfig,
  type ManagerInfo,
  type NetworkAddress,
  type NetworkDetail,
  type Node,
  NodeStatus,
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
    ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE'],
    rows.map((r) => [shortId(r.id, noTrunc), r.name, r.mode, `${r.running}/${r.desired}`, r.image]),
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

export function taskName(task: Task): string {
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
    .sort((a, b) => a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId) || a.subnet.localeCompare(b.subnet));
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
    rows.map((r) => [shortId(r.id, noTrunc), r.name, r.subnet, String(r.vni), r.default ? 'yes' : '', String(r.services)]),
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
  const widths = headers.map((_, col) =>
    Math.max(MIN_CELL, ...all.map((row) => (row[col] ?? '').length + PADDING)),
  );
  return all
    .map((row) =>
      row
        .map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col] ?? 0)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}
