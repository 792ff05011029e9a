// A Service message as `service ls --format json` and `service inspect` print it. Pure.
import {
  type HealthConfig,
  type Resources,
  RestartCondition,
  type RestartPolicy,
  type Service,
  ServiceMode,
  type ServiceStatus,
} from '../../../proto/gen/shoal.js';
import { isoTime } from '../../output.js';
import { type PortRow, portRow } from './ports.js';

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
