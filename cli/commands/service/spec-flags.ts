// The flags that set a ServiceSpec's fields, with their parsing: declared once here for
// `service create` and the commands that change a service later. Optional spec fields stay
// unset when their flag is not given (grace period, restart policy, health check), so the
// manager's or the engine's default applies. Constraints are proto/constraint.ts's rule.
import { ConstraintError, formatConstraint, parseConstraint } from '../../../proto/constraint.js';
import { type HealthConfig, type Resources, RestartCondition, type RestartPolicy } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { countFlag, cpusFlag, durationFlag, keyValueFlags, sizeFlag } from '../../parse/values.js';

export const CONSTRAINT: FlagSpec = {
  long: 'constraint',
  type: 'string',
  value: 'EXPR',
  help: 'Placement constraint, KEY==VALUE or KEY!=VALUE (repeatable)',
};

export const RESOURCE_FLAGS: FlagSpec[] = [
  { long: 'reserve-cpu', type: 'string', value: 'CPUS', help: 'Reserve CPUs, e.g. 0.5' },
  { long: 'reserve-memory', type: 'string', value: 'SIZE', help: 'Reserve memory, e.g. 64M' },
  { long: 'limit-cpu', type: 'string', value: 'CPUS', help: 'Limit CPUs' },
  { long: 'limit-memory', type: 'string', value: 'SIZE', help: 'Limit memory' },
];

export const ENV: FlagSpec = {
  long: 'env',
  short: 'e',
  type: 'string',
  value: 'KEY=VALUE',
  help: 'Set an environment variable (repeatable)',
};

export const LABEL: FlagSpec = {
  long: 'label',
  short: 'l',
  type: 'string',
  value: 'KEY=VALUE',
  help: 'Set a service label (repeatable)',
};

export const NETWORK: FlagSpec = {
  long: 'network',
  type: 'string',
  value: 'NETWORK',
  help: 'Attach to an overlay network (repeatable; default: the default network)',
};

export const STOP_GRACE_PERIOD: FlagSpec = {
  long: 'stop-grace-period',
  type: 'string',
  value: 'DURATION',
  help: 'Time to wait after SIGTERM before SIGKILL (default 10s)',
};

export const HEALTH_FLAGS: FlagSpec[] = [
  { long: 'health-cmd', type: 'string', value: 'CMD', help: 'Command to run to check health (run with /bin/sh -c)' },
  {
    long: 'health-interval',
    type: 'string',
    value: 'DURATION',
    help: "Time between running the check (default: the engine's, 30s)",
  },
  {
    long: 'health-timeout',
    type: 'string',
    value: 'DURATION',
    help: "Maximum time to allow one check to run (default: the engine's, 30s)",
  },
  {
    long: 'health-retries',
    type: 'string',
    value: 'N',
    help: "Consecutive failures needed to report unhealthy (default: the engine's, 3)",
  },
  {
    long: 'health-start-period',
    type: 'string',
    value: 'DURATION',
    help: 'Start period for the container to initialize before failures count (default 0s)',
  },
  { long: 'no-healthcheck', type: 'boolean', help: 'Disable any container-specified HEALTHCHECK' },
];

export const RESTART_FLAGS: FlagSpec[] = [
  {
    long: 'restart-condition',
    type: 'string',
    value: 'CONDITION',
    help: 'Restart when the task ends: none, on-failure or any (default any)',
  },
  {
    long: 'restart-delay',
    type: 'string',
    value: 'DURATION',
    help: "Delay between restart attempts (default: the manager's, 1s)",
  },
  {
    long: 'restart-max-attempts',
    type: 'string',
    value: 'N',
    help: 'Maximum number of restarts before giving up (default 0: unlimited)',
  },
  {
    long: 'restart-window',
    type: 'string',
    value: 'DURATION',
    help: 'Window used to count restart attempts (default 0: every restart counts)',
  },
];

/** One --constraint, normalised as the manager stores it (`node.hostname != a` -> `node.hostname!=a`). */
export function constraint(text: string): string {
  try {
    return formatConstraint(parseConstraint(text));
  } catch (err) {
    if (err instanceof ConstraintError) throw new UsageError(err.message);
    throw err;
  }
}

/** --reserve-* and --limit-*: each set only when one of its two flags is given. */
export function resources(flags: FlagValues): { reservations?: Resources; limits?: Resources } {
  const pair = (cpu: number | undefined, memory: number | undefined): Resources | undefined =>
    cpu === undefined && memory === undefined ? undefined : { nanoCpus: cpu ?? 0, memoryBytes: memory ?? 0 };
  return {
    reservations: pair(cpusFlag(flags, 'reserve-cpu'), sizeFlag(flags, 'reserve-memory')),
    limits: pair(cpusFlag(flags, 'limit-cpu'), sizeFlag(flags, 'limit-memory')),
  };
}

/** One environment variable, `KEY=VALUE` with a name without spaces. */
export function envVars(flags: FlagValues, long: string): string[] {
  return keyValueFlags(flags, long).map(([k, v]) => {
    if (/\s/.test(k)) throw new UsageError(`invalid --${long} "${k}=${v}": the name must not contain spaces`);
    return `${k}=${v}`;
  });
}

/** `--network`: repeatable, each name once, in the order given. */
export function networkNames(flags: FlagValues, long: string): string[] {
  const names: string[] = [];
  for (const name of flags.list(long)) {
    if (name.trim() === '') throw new UsageError(`--${long} must not be empty`);
    if (names.includes(name)) throw new UsageError(`network "${name}" is given twice`);
    names.push(name);
  }
  return names;
}

/** --stop-grace-period in ms; undefined: the manager's default (10 s). 0 is sent as 0. */
export function stopGracePeriod(flags: FlagValues): number | undefined {
  return durationFlag(flags, STOP_GRACE_PERIOD.long);
}

/**
 * The health check, as docker's `service create`: --no-healthcheck -> ["NONE"]; any
 * --health-* flag -> a config whose unset fields are 0 (the engine's defaults: interval
 * and timeout 30s, 3 retries, no start period) and whose test is ["CMD-SHELL", CMD], or
 * empty without --health-cmd (the image's HEALTHCHECK, with the given settings); no flag
 * at all -> undefined (the image's HEALTHCHECK as it is).
 */
export function healthConfig(flags: FlagValues): HealthConfig | undefined {
  const given = HEALTH_FLAGS.filter((f) => f.type === 'string' && flags.has(f.long)).map((f) => f.long);
  if (flags.bool('no-healthcheck')) {
    if (given.length > 0) throw new UsageError(`--no-healthcheck conflicts with --${given[0]}`);
    return { test: ['NONE'], intervalMs: 0, timeoutMs: 0, retries: 0, startPeriodMs: 0 };
  }
  if (given.length === 0) return undefined;
  const cmd = flags.string('health-cmd');
  if (cmd !== undefined && cmd.trim() === '') throw new UsageError('--health-cmd must not be empty');
  const atLeastOneMs = (long: string): number => {
    const ms = durationFlag(flags, long) ?? 0;
    // The engine refuses a non-zero interval/timeout under 1ms; 0 means its default.
    const text = flags.string(long) ?? '0';
    if (ms === 0 && /[1-9]/.test(text)) throw new UsageError(`--${long} must be 0 or at least 1ms, got "${text}"`);
    return ms;
  };
  return {
    test: cmd === undefined ? [] : ['CMD-SHELL', cmd],
    intervalMs: atLeastOneMs('health-interval'),
    timeoutMs: atLeastOneMs('health-timeout'),
    retries: countFlag(flags, 'health-retries') ?? 0,
    startPeriodMs: durationFlag(flags, 'health-start-period') ?? 0,
  };
}

function parseRestartCondition(text: string): RestartCondition {
  switch (text) {
    case 'any':
      return RestartCondition.ANY;
    case 'on-failure':
      return RestartCondition.ON_FAILURE;
    case 'none':
      return RestartCondition.NONE;
    default:
      throw new UsageError(`invalid --restart-condition "${text}": expected none, on-failure or any`);
  }
}

/** The restart policy, only when a --restart-* flag was given (else the manager's default). */
export function restartPolicy(flags: FlagValues): RestartPolicy | undefined {
  if (!RESTART_FLAGS.some((f) => flags.has(f.long))) return undefined;
  const conditionText = flags.string('restart-condition');
  const policy: RestartPolicy = {
    condition: conditionText === undefined ? RestartCondition.ANY : parseRestartCondition(conditionText),
    maxAttempts: countFlag(flags, 'restart-max-attempts') ?? 0,
    windowMs: durationFlag(flags, 'restart-window') ?? 0,
  };
  const delayMs = durationFlag(flags, 'restart-delay');
  if (delayMs !== undefined) policy.delayMs = delayMs; // unset: the manager's default (1 s)
  return policy;
}
