// The bounds of proto/limits.ts as checks, shared by the CLI (before it calls) and the
// manager (on every request, whatever client sent it), so both refuse the same input with
// the same one-line message. Fields are named by the CLI flag that sets them (`--replicas`),
// or by their spec field where no flag does. Pure: throws InputError; defaults and what
// needs the cluster's state (existence, conflicts) are the manager's.
import type { HealthConfig, Resources, RestartPolicy, ServiceSpec, UpdateConfig } from './gen/shoal.js';
import {
  RestartCondition,
  ServiceMode,
  ServiceSpec as ServiceSpecCodec,
  UpdateFailureAction,
  UpdateOrder,
} from './gen/shoal.js';
import {
  MAX_ATTEMPTS,
  MAX_COMMAND_ARGS,
  MAX_COMMAND_BYTES,
  MAX_CONSTRAINT_BYTES,
  MAX_CONSTRAINTS,
  MAX_DURATION_MS,
  MAX_ENV,
  MAX_ENV_BYTES,
  MAX_FILE_REFS,
  MAX_IMAGE_BYTES,
  MAX_LABEL_KEY_BYTES,
  MAX_LABEL_VALUE_BYTES,
  MAX_LABELS,
  MAX_MEMORY_BYTES,
  MAX_NANO_CPUS,
  MAX_NETWORKS,
  MAX_PORTS,
  MAX_REF_LENGTH,
  MAX_REPLICAS,
  MAX_SPEC_BYTES,
} from './limits.js';
import { NameError, checkName } from './names.js';
import { quote } from './quote.js';
import { checkContainerOptions } from './container-rules.js';

/** Event types (the 3rd token of the manager's NATS subjects): `shoal events --filter type=`, Control.Events. */
export const EVENT_TYPES = ['task', 'node', 'service', 'health', 'endpoint'] as const;

export class InputError extends Error {
  override name = 'InputError';
}

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

/** "24h", "128 KiB": a bound as users read it. */
export function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 1_000 === 0) return `${ms / 1_000}s`;
  return `${ms}ms`;
}

export function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${Number((n / (1024 * 1024)).toFixed(1))} MiB`;
  if (n >= 1024) return `${Number((n / 1024).toFixed(1))} KiB`;
  return `${n} bytes`;
}

/** A whole number in [0, max]: `invalid --replicas 1000000000: at most 100000`. */
export function checkCount(n: number, max: number, label: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new InputError(`invalid ${label} ${n}: must be a non-negative integer`);
  if (n > max) throw new InputError(`invalid ${label} ${n}: at most ${max}`);
}

export function checkReplicas(n: number): void {
  checkCount(n, MAX_REPLICAS, '--replicas');
}

/** Milliseconds in [0, MAX_DURATION_MS] (24h). `shown`: the text the user gave, if any. */
export function checkDurationMs(ms: number, label: string, shown = `${ms}ms`): void {
  if (!Number.isFinite(ms) || ms < 0) throw new InputError(`invalid ${label} ${quote(shown)}: must not be negative`);
  if (ms > MAX_DURATION_MS)
    throw new InputError(`invalid ${label} ${quote(shown)}: at most ${formatMs(MAX_DURATION_MS)}`);
}

/** At most `max` entries. */
export function checkLength(n: number, max: number, label: string): void {
  if (n > max) throw new InputError(`too many ${label}: ${n}, at most ${max}`);
}

/** A string of at most `max` UTF-8 bytes. */
export function checkText(value: string, max: number, label: string): void {
  const n = bytes(value);
  if (n > max) throw new InputError(`invalid ${label} ${quote(value)}: ${n} bytes, at most ${formatBytes(max)}`);
}

/** A reference to a node, service or network: given, of sane length, one line. */
export function checkRef(ref: string, what: string): void {
  if (ref === '') throw new InputError(`a ${what} name or id is required`);
  if (ref.length > MAX_REF_LENGTH || /[\s\p{C}]/u.test(ref))
    throw new InputError(`invalid ${what} reference ${quote(ref)}: at most ${MAX_REF_LENGTH} characters, no spaces`);
}

/** Labels of a service, network or node: count, key (non-empty) and value sizes. */
export function checkLabels(labels: Record<string, string>, label: string): void {
  const entries = Object.entries(labels);
  checkLength(entries.length, MAX_LABELS, `${label} values`);
  for (const [k, v] of entries) {
    if (k === '') throw new InputError(`invalid ${label}: the key must not be empty`);
    checkText(k, MAX_LABEL_KEY_BYTES, `${label} key`);
    checkText(v, MAX_LABEL_VALUE_BYTES, `${label} value of ${quote(k)}`);
  }
}

/** A service or network name (proto/names.ts), as an InputError. */
export function checkResourceName(what: string, name: string): void {
  try {
    checkName(what, name);
  } catch (err) {
    if (err instanceof NameError) throw new InputError(err.message);
    throw err;
  }
}

function checkResources(r: Resources | undefined, label: string): void {
  if (!r) return;
  if (!Number.isFinite(r.nanoCpus) || r.nanoCpus < 0 || r.nanoCpus > MAX_NANO_CPUS)
    throw new InputError(`invalid --${label}-cpu ${r.nanoCpus / 1e9}: between 0 and ${MAX_NANO_CPUS / 1e9} CPUs`);
  if (!Number.isFinite(r.memoryBytes) || r.memoryBytes < 0 || r.memoryBytes > MAX_MEMORY_BYTES)
    throw new InputError(`invalid --${label}-memory ${r.memoryBytes}: between 0 and ${MAX_MEMORY_BYTES} bytes`);
}

function checkHealth(h: HealthConfig | undefined): void {
  if (!h) return;
  checkLength(h.test.length, MAX_COMMAND_ARGS, 'health check arguments');
  checkText(h.test.join(' '), MAX_COMMAND_BYTES, '--health-cmd');
  checkDurationMs(h.intervalMs, '--health-interval');
  checkDurationMs(h.timeoutMs, '--health-timeout');
  checkDurationMs(h.startPeriodMs, '--health-start-period');
  checkCount(h.retries, MAX_ATTEMPTS, '--health-retries');
}

function checkRestart(r: RestartPolicy | undefined): void {
  if (!r) return;
  if (!(r.condition in RestartCondition) || r.condition === RestartCondition.UNRECOGNIZED)
    throw new InputError(`invalid --restart-condition ${r.condition}: expected none, on-failure or any`);
  if (r.delayMs !== undefined) checkDurationMs(r.delayMs, '--restart-delay');
  checkDurationMs(r.windowMs, '--restart-window');
  checkCount(r.maxAttempts, MAX_ATTEMPTS, '--restart-max-attempts');
}

/**
 * Every bound on a service spec that needs no cluster state: name, image, mode, replicas,
 * counts and sizes, durations, resources, and the whole spec's size.
 */
export function checkServiceSpec(spec: ServiceSpec): void {
  checkResourceName('service name', spec.name);
  if (spec.image.trim() === '') throw new InputError('service image is required');
  checkText(spec.image, MAX_IMAGE_BYTES, 'image reference');
  if (/\s/.test(spec.image.trim())) throw new InputError(`invalid image reference ${quote(spec.image)}`);
  if (spec.mode !== ServiceMode.REPLICATED && spec.mode !== ServiceMode.GLOBAL)
    throw new InputError(`invalid --mode ${spec.mode}: expected replicated or global`);
  if (spec.mode === ServiceMode.REPLICATED) checkReplicas(spec.replicas);
  checkLength(spec.command.length, MAX_COMMAND_ARGS, 'command arguments');
  checkText(spec.command.join(' '), MAX_COMMAND_BYTES, 'command');
  checkLength(spec.env.length, MAX_ENV, '--env values');
  for (const e of spec.env) checkText(e, MAX_ENV_BYTES, '--env');
  checkLabels(spec.labels, '--label');
  checkLength(spec.constraints.length, MAX_CONSTRAINTS, '--constraint values');
  for (const c of spec.constraints) checkText(c, MAX_CONSTRAINT_BYTES, '--constraint');
  checkResources(spec.reservations, 'reserve');
  checkResources(spec.limits, 'limit');
  checkLength(spec.ports.length, MAX_PORTS, '--publish values');
  checkLength(spec.networks.length, MAX_NETWORKS, '--network values');
  for (const n of spec.networks) checkRef(n, 'network');
  checkLength(spec.secrets.length, MAX_FILE_REFS, '--secret values');
  checkLength(spec.configs.length, MAX_FILE_REFS, '--config values');
  if (spec.stopGracePeriodMs !== undefined) checkDurationMs(spec.stopGracePeriodMs, '--stop-grace-period');
  checkHealth(spec.health);
  checkRestart(spec.restart);
  checkContainerOptions(spec); // proto/container-rules.ts: mounts, user, ulimits, dns, ...
  const size = specBytes(spec);
  if (size > MAX_SPEC_BYTES)
    throw new InputError(
      `service spec of ${quote(spec.name)} is too large: ${size} bytes, at most ${formatBytes(MAX_SPEC_BYTES)}`,
    );
}

/** A spec's size as stored (JSON), what every task's copy costs. */
export function specBytes(spec: ServiceSpec): number {
  return bytes(JSON.stringify(spec));
}

// ------------------------------------------------------------ update and rollback configs

/** Swarm's defaults (api/defaults/service.go) plus our two deadlines (an update never waits forever). */
export const DEFAULT_UPDATE_CONFIG: UpdateConfig = {
  parallelism: 1,
  delayMs: 0,
  failureAction: UpdateFailureAction.PAUSE,
  monitorMs: 5_000,
  maxFailureRatio: 0,
  order: UpdateOrder.STOP_FIRST,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 10 * 60_000,
};

/** Tasks replaced at once at most (`--update-parallelism`); 0 means all. */
export const MAX_UPDATE_PARALLELISM = 100_000;

/**
 * One update (`--update-*`) or rollback (`--rollback-*`) config: counts, durations, enums; a
 * rollback config may not say `rollback` (a rollback never rolls back).
 */
export function checkUpdateConfig(c: UpdateConfig, kind: 'update' | 'rollback'): void {
  const f = (name: string) => `--${kind}-${name}`;
  checkCount(c.parallelism, MAX_UPDATE_PARALLELISM, f('parallelism'));
  checkDurationMs(c.delayMs, f('delay'));
  checkDurationMs(c.monitorMs, f('monitor'));
  checkDurationMs(c.healthyDeadlineMs, f('healthy-deadline'));
  checkDurationMs(c.progressDeadlineMs, f('progress-deadline'));
  if (c.healthyDeadlineMs === 0) throw new InputError(`invalid ${f('healthy-deadline')} 0s: must be positive`);
  if (c.progressDeadlineMs === 0) throw new InputError(`invalid ${f('progress-deadline')} 0s: must be positive`);
  if (!Number.isFinite(c.maxFailureRatio) || c.maxFailureRatio < 0 || c.maxFailureRatio > 1)
    throw new InputError(`invalid ${f('max-failure-ratio')} ${c.maxFailureRatio}: between 0 and 1`);
  const actions = kind === 'update' ? 'pause, continue or rollback' : 'pause or continue';
  const validAction =
    c.failureAction === UpdateFailureAction.PAUSE ||
    c.failureAction === UpdateFailureAction.CONTINUE ||
    (kind === 'update' && c.failureAction === UpdateFailureAction.ROLLBACK);
  if (!validAction) throw new InputError(`invalid ${f('failure-action')} ${c.failureAction}: expected ${actions}`);
  if (c.order !== UpdateOrder.STOP_FIRST && c.order !== UpdateOrder.START_FIRST)
    throw new InputError(`invalid ${f('order')} ${c.order}: expected stop-first or start-first`);
}

/** Both configs of a spec, when set. */
export function checkUpdateConfigs(spec: ServiceSpec): void {
  if (spec.update) checkUpdateConfig(spec.update, 'update');
  if (spec.rollback) checkUpdateConfig(spec.rollback, 'rollback');
}

/** A stable text of a value: keys sorted, undefined dropped (map order does not matter). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * The part of a spec a task runs, as comparable text: everything but the replica count and
 * the update and rollback configs (changing only those replaces no task, as in Swarm).
 * force_update is part of it, so `service update --force` makes every task out of date.
 */
export function containerSpecKey(spec: ServiceSpec): string {
  return canonicalJson(ServiceSpecCodec.toJSON({ ...spec, replicas: 0, update: undefined, rollback: undefined }));
}
