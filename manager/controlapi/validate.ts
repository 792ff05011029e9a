// Validation of what users send: every refusal names the input that was wrong. The bounds
// that need no cluster state are proto/spec-rules.ts's (the CLI checks the same ones, with
// the same messages); here they become INVALID_ARGUMENT, and a spec gets its defaults.
import type { ServiceSpec } from '../../proto/gen/shoal.js';
import { PublishMode, RestartCondition, ServiceMode } from '../../proto/gen/shoal.js';
import { ConstraintError, formatConstraint, parseConstraint } from '../../proto/constraint.js';
import { MAX_SERVICE_STORED_BYTES, TASK_OVERHEAD_BYTES } from '../../proto/limits.js';
import { quote } from '../../proto/quote.js';
import {
  DEFAULT_UPDATE_CONFIG,
  InputError,
  checkReplicas,
  checkServiceSpec,
  checkUpdateConfigs,
  formatBytes,
  specBytes,
} from '../../proto/spec-rules.js';
import { DEFAULT_RESTART_DELAY_MS } from '../orchestrator/restart.js';
import { invalidArgument } from '../errors.js';

export const DEFAULT_STOP_GRACE_MS = 10_000;

/** Runs a proto/ check, turning its InputError into INVALID_ARGUMENT. */
export function asInvalid<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof InputError || err instanceof ConstraintError) throw invalidArgument(err.message, { cause: err });
    throw err;
  }
}

export function validateReplicas(n: number): void {
  asInvalid(() => checkReplicas(n));
}

/**
 * What a service occupies in the store with `tasks` tasks (each holds a copy of its spec):
 * refused over MAX_SERVICE_STORED_BYTES before anything is written.
 */
export function validateStoredSize(spec: ServiceSpec, tasks: number): void {
  const total = (specBytes(spec) + TASK_OVERHEAD_BYTES) * Math.max(1, tasks);
  if (total > MAX_SERVICE_STORED_BYTES)
    throw invalidArgument(
      `service ${quote(spec.name)} would store ${formatBytes(total)} with its ${tasks} tasks, at most ${formatBytes(MAX_SERVICE_STORED_BYTES)}: use fewer replicas or a smaller spec`,
    );
}

/** Checks a spec and fills in defaults; returns the spec to store. */
export function validateSpec(spec: ServiceSpec | undefined): ServiceSpec {
  if (!spec) throw invalidArgument('service spec is missing');
  asInvalid(() => checkServiceSpec(spec));
  const constraints = spec.constraints.map((c) => asInvalid(() => formatConstraint(parseConstraint(c))));
  for (const e of spec.env) {
    if (!/^[^=\s]+=/.test(e)) throw invalidArgument(`invalid environment variable ${quote(e)}: expected KEY=VALUE`);
  }
  const seen = new Set<string>();
  for (const p of spec.ports) {
    if (p.targetPort < 1 || p.targetPort > 65535) throw invalidArgument(`invalid target port ${p.targetPort}`);
    if (p.publishedPort > 65535) throw invalidArgument(`invalid published port ${p.publishedPort}`);
    if (p.publishMode !== PublishMode.INGRESS && p.publishMode !== PublishMode.HOST)
      throw invalidArgument(`invalid publish mode ${p.publishMode}`);
    const proto = p.protocol || 'tcp';
    if (proto !== 'tcp' && proto !== 'udp') throw invalidArgument(`invalid protocol ${quote(p.protocol)}: tcp or udp`);
    const k = `${proto}/${p.publishedPort}`;
    if (p.publishedPort > 0 && seen.has(k)) throw invalidArgument(`port ${k} is published twice`);
    seen.add(k);
  }
  const restart = spec.restart ?? {
    condition: RestartCondition.ANY,
    delayMs: DEFAULT_RESTART_DELAY_MS,
    maxAttempts: 0,
    windowMs: 0,
  };
  return {
    ...spec,
    image: spec.image.trim(),
    constraints,
    replicas: spec.mode === ServiceMode.GLOBAL ? 0 : spec.replicas,
    restart: { ...restart, delayMs: restart.delayMs ?? DEFAULT_RESTART_DELAY_MS },
    stopGracePeriodMs: spec.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
  };
}

/**
 * Checks the update and rollback configs and fills in the defaults where a spec has none
 * (proto/spec-rules.ts DEFAULT_UPDATE_CONFIG), so that `inspect` shows what will be used.
 */
export function withUpdateDefaults(spec: ServiceSpec): ServiceSpec {
  asInvalid(() => checkUpdateConfigs(spec));
  return {
    ...spec,
    update: spec.update ?? { ...DEFAULT_UPDATE_CONFIG },
    rollback: spec.rollback ?? { ...DEFAULT_UPDATE_CONFIG },
  };
}
