// --update-* and --rollback-*: how a spec change (or a rollback) rolls out, for `service
// create` and `service update`. Flags not given keep what the service has (update) or the
// manager's defaults (create: Swarm's, plus our healthy and progress deadlines).
import type { UpdateConfig } from '../../../proto/gen/shoal.js';
import { UpdateFailureAction, UpdateOrder } from '../../../proto/gen/shoal.js';
import { DEFAULT_UPDATE_CONFIG, checkUpdateConfig } from '../../../proto/spec-rules.js';
import { formatDuration } from '../../output.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';
import { asUsage, countFlag, durationFlag } from '../../parse/values.js';

type Kind = 'update' | 'rollback';
const D = DEFAULT_UPDATE_CONFIG;

function flagsOf(kind: Kind): FlagSpec[] {
  const what = kind === 'update' ? 'updated' : 'rolled back';
  const actions = kind === 'update' ? 'pause, continue or rollback' : 'pause or continue';
  return [
    {
      long: `${kind}-parallelism`,
      type: 'string',
      value: 'N',
      help: `Maximum number of tasks ${what} simultaneously (0 to ${kind} all at once) (default ${D.parallelism})`,
    },
    {
      long: `${kind}-delay`,
      type: 'string',
      value: 'DURATION',
      help: `Delay between ${kind}s (default 0s)`,
    },
    {
      long: `${kind}-failure-action`,
      type: 'string',
      value: 'ACTION',
      help: `Action on ${kind} failure: ${actions} (default pause)`,
    },
    {
      long: `${kind}-monitor`,
      type: 'string',
      value: 'DURATION',
      help: `Duration after each task ${kind} to monitor for failure (default ${formatDuration(D.monitorMs)})`,
    },
    {
      long: `${kind}-max-failure-ratio`,
      type: 'string',
      value: 'RATIO',
      help: `Failure rate to tolerate during an ${kind}, 0 to 1 (default ${D.maxFailureRatio})`,
    },
    {
      long: `${kind}-order`,
      type: 'string',
      value: 'ORDER',
      help: `${kind === 'update' ? 'Update' : 'Rollback'} order: stop-first or start-first (default stop-first)`,
    },
    {
      long: `${kind}-healthy-deadline`,
      type: 'string',
      value: 'DURATION',
      help: `A new task not running (healthy) within this long has failed (default ${formatDuration(D.healthyDeadlineMs)})`,
    },
    {
      long: `${kind}-progress-deadline`,
      type: 'string',
      value: 'DURATION',
      help: `The whole ${kind} not done within this long has failed (default ${formatDuration(D.progressDeadlineMs)})`,
    },
  ];
}

export const UPDATE_CONFIG_FLAGS: FlagSpec[] = [...flagsOf('update'), ...flagsOf('rollback')];

function failureAction(kind: Kind, text: string): UpdateFailureAction {
  if (text === 'pause') return UpdateFailureAction.PAUSE;
  if (text === 'continue') return UpdateFailureAction.CONTINUE;
  if (text === 'rollback' && kind === 'update') return UpdateFailureAction.ROLLBACK;
  const allowed = kind === 'update' ? '"pause", "continue" or "rollback"' : '"pause" or "continue"';
  throw new UsageError(`invalid --${kind}-failure-action "${text}": expected ${allowed}`);
}

function order(kind: Kind, text: string): UpdateOrder {
  if (text === 'stop-first') return UpdateOrder.STOP_FIRST;
  if (text === 'start-first') return UpdateOrder.START_FIRST;
  throw new UsageError(`invalid --${kind}-order "${text}": expected "stop-first" or "start-first"`);
}

function ratio(kind: Kind, text: string): number {
  const n = /^\d*\.?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n)) throw new UsageError(`invalid --${kind}-max-failure-ratio "${text}": expected a number`);
  return n;
}

/** One config with its flags applied over `base`; undefined when no flag of that kind was given and there is no base. */
function configOf(flags: FlagValues, kind: Kind, base: UpdateConfig | undefined): UpdateConfig | undefined {
  const given = flagsOf(kind).some((f) => flags.has(f.long));
  if (!given) return base;
  const c: UpdateConfig = { ...(base ?? DEFAULT_UPDATE_CONFIG) };
  const f = (name: string) => `${kind}-${name}`;
  c.parallelism = countFlag(flags, f('parallelism')) ?? c.parallelism;
  c.delayMs = durationFlag(flags, f('delay')) ?? c.delayMs;
  c.monitorMs = durationFlag(flags, f('monitor')) ?? c.monitorMs;
  c.healthyDeadlineMs = durationFlag(flags, f('healthy-deadline'), true) ?? c.healthyDeadlineMs;
  c.progressDeadlineMs = durationFlag(flags, f('progress-deadline'), true) ?? c.progressDeadlineMs;
  const action = flags.string(f('failure-action'));
  if (action !== undefined) c.failureAction = failureAction(kind, action);
  const o = flags.string(f('order'));
  if (o !== undefined) c.order = order(kind, o);
  const r = flags.string(f('max-failure-ratio'));
  if (r !== undefined) c.maxFailureRatio = ratio(kind, r);
  asUsage(() => checkUpdateConfig(c, kind));
  return c;
}

/**
 * The update and rollback configs from the flags, over `current` (the service's, for `service
 * update`); a config whose flags are all absent stays as it is (create: unset, the manager's defaults).
 */
export function updateConfigs(
  flags: FlagValues,
  current: { update?: UpdateConfig | undefined; rollback?: UpdateConfig | undefined } = {},
): { update?: UpdateConfig; rollback?: UpdateConfig } {
  const out: { update?: UpdateConfig; rollback?: UpdateConfig } = {};
  const update = configOf(flags, 'update', current.update);
  const rollback = configOf(flags, 'rollback', current.rollback);
  if (update) out.update = update;
  if (rollback) out.rollback = rollback;
  return out;
}
