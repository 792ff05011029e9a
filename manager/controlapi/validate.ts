// Validation of what users send: every refusal names the input that was wrong.
import type { ServiceSpec } from '../../proto/gen/shoal.js';
import { RestartCondition, ServiceMode } from '../../proto/gen/shoal.js';
import { ConstraintError, formatConstraint, parseConstraint } from '../../proto/constraint.js';
import { DEFAULT_RESTART_DELAY_MS } from '../orchestrator/restart.js';
import { invalidArgument } from '../errors.js';

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
/** A bound that keeps one typo from creating millions of tasks. */
export const MAX_REPLICAS = 1_000_000;
export const DEFAULT_STOP_GRACE_MS = 10_000;

export function validateServiceName(name: string): void {
  if (!name) throw invalidArgument('service name is required (--name)');
  if (!NAME_RE.test(name)) {
    throw invalidArgument(
      `invalid service name "${name}": use 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

export function validateReplicas(n: number): void {
  if (!Number.isInteger(n) || n < 0)
    throw invalidArgument(`invalid replica count ${n}: must be a non-negative integer`);
  if (n > MAX_REPLICAS) throw invalidArgument(`invalid replica count ${n}: at most ${MAX_REPLICAS}`);
}

/** Checks a spec and fills in defaults; returns the spec to store. */
export function validateSpec(spec: ServiceSpec | undefined): ServiceSpec {
  if (!spec) throw invalidArgument('service spec is missing');
  validateServiceName(spec.name);
  if (!spec.image.trim()) throw invalidArgument('service image is required');
  if (/\s/.test(spec.image)) throw invalidArgument(`invalid image reference "${spec.image}"`);
  if (spec.mode !== ServiceMode.REPLICATED && spec.mode !== ServiceMode.GLOBAL)
    throw invalidArgument(`invalid service mode ${spec.mode}`);
  if (spec.mode === ServiceMode.REPLICATED) validateReplicas(spec.replicas);
  const constraints = spec.constraints.map((c) => {
    try {
      return formatConstraint(parseConstraint(c));
    } catch (err) {
      if (err instanceof ConstraintError) throw invalidArgument(err.message, { cause: err });
      throw err;
    }
  });
  for (const e of spec.env) {
    if (!/^[^=\s]+=/.test(e)) throw invalidArgument(`invalid environment variable "${e}": expected KEY=VALUE`);
  }
  if ((spec.stopGracePeriodMs ?? 0) < 0) throw invalidArgument('stop grace period must not be negative');
  for (const r of [spec.reservations, spec.limits]) {
    if (r && (r.nanoCpus < 0 || r.memoryBytes < 0))
      throw invalidArgument('cpu and memory amounts must not be negative');
  }
  const seen = new Set<string>();
  for (const p of spec.ports) {
    if (p.targetPort < 1 || p.targetPort > 65535) throw invalidArgument(`invalid target port ${p.targetPort}`);
    if (p.publishedPort > 65535) throw invalidArgument(`invalid published port ${p.publishedPort}`);
    const proto = p.protocol || 'tcp';
    if (proto !== 'tcp' && proto !== 'udp') throw invalidArgument(`invalid protocol "${p.protocol}": tcp or udp`);
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
  if ((restart.delayMs ?? 0) < 0 || restart.windowMs < 0)
    throw invalidArgument('restart delay and window must not be negative');
  return {
    ...spec,
    image: spec.image.trim(),
    constraints,
    replicas: spec.mode === ServiceMode.GLOBAL ? 0 : spec.replicas,
    restart: { ...restart, delayMs: restart.delayMs ?? DEFAULT_RESTART_DELAY_MS },
    stopGracePeriodMs: spec.stopGracePeriodMs ?? DEFAULT_STOP_GRACE_MS,
  };
}
