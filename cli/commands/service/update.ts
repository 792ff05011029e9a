// shoal service update [OPTIONS] SERVICE: the service's current spec with the flags applied
// (`--env-add`/`--env-rm` and the other pairs change lists; other flags replace a value),
// sent with the version it was based on; then the rolling update is followed (progress.ts)
// unless --detach. `--rollback` is `service rollback`; `--force` replaces every task.
import { parse as shellParse } from 'shell-quote';
import { ServiceMode, type Service, ServiceSpec } from '../../../proto/gen/shoal.js';
import { UpdateState } from '../../../proto/gen/shoal.js';
import { checkServiceSpec } from '../../../proto/spec-rules.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, FlagValues, Parsed } from '../../parse/flags.js';
import { asUsage, countFlag, cpusFlag, durationFlag, parseKeyValue, sizeFlag } from '../../parse/values.js';
import type { CommandContext, CommandSpec, ExitCode } from '../command.js';
import { CONTAINER_UPDATE_FLAGS, updateContainerOptions } from './container-flags.js';
import { parseFileRef } from './file-refs.js';
import { IMAGE_FLAGS, imageRequestOptions, unpinnedWarning } from './image-flags.js';
import { parsePublish } from './ports.js';
import { followUpdate } from './progress.js';
import {
  constraint,
  HEALTH_FLAGS,
  healthConfig,
  RESOURCE_FLAGS,
  RESTART_FLAGS,
  restartPolicy,
  STOP_GRACE_PERIOD,
} from './spec-flags.js';
import { UPDATE_CONFIG_FLAGS, updateConfigs } from './update-config-flags.js';
import { DETACH, TIMEOUT, waitFor } from './wait.js';

const s = (long: string, value: string, help: string): FlagSpec => ({ long, type: 'string', value, help });

export const UPDATE_FLAGS: FlagSpec[] = [
  s('image', 'IMAGE', 'Service image tag'),
  s('args', 'COMMAND', 'Service command args (split as a shell would)'),
  s('replicas', 'N', 'Number of tasks'),
  s('env-add', 'KEY=VALUE', 'Add or update an environment variable (repeatable)'),
  s('env-rm', 'KEY', 'Remove an environment variable (repeatable)'),
  s('label-add', 'KEY=VALUE', 'Add or update a service label (repeatable)'),
  s('label-rm', 'KEY', 'Remove a label by its key (repeatable)'),
  s('constraint-add', 'EXPR', 'Add or update a placement constraint (repeatable)'),
  s('constraint-rm', 'EXPR', 'Remove a constraint (repeatable)'),
  s('publish-add', 'PORT', 'Add or update a published port (repeatable)'),
  s('publish-rm', 'PORT', 'Remove a published port by its published port, PORT[/PROTOCOL] (repeatable)'),
  s('network-add', 'NETWORK', 'Add a network (repeatable)'),
  s('network-rm', 'NETWORK', 'Remove a network (repeatable)'),
  s('secret-add', 'SECRET', 'Add or update a secret on a service (repeatable)'),
  s('secret-rm', 'SECRET', 'Remove a secret (repeatable)'),
  s('config-add', 'CONFIG', 'Add or update a config file on a service (repeatable)'),
  s('config-rm', 'CONFIG', 'Remove a configuration file (repeatable)'),
  ...RESOURCE_FLAGS,
  STOP_GRACE_PERIOD,
  ...HEALTH_FLAGS,
  ...RESTART_FLAGS,
  ...UPDATE_CONFIG_FLAGS,
  { long: 'force', type: 'boolean', help: 'Force update even if no changes require it (replaces every task)' },
  { long: 'rollback', type: 'boolean', help: 'Rollback to previous specification' },
];

export interface UpdateOptions {
  ref: string;
  flags: FlagValues;
  rollback: boolean;
  detach: boolean;
  timeoutMs: number | undefined;
}

/** --args as docker splits it (quotes, escapes); shell operators are refused. */
export function splitArgs(text: string): string[] {
  return shellParse(text).map((entry) => {
    if (typeof entry !== 'string') throw new UsageError(`invalid --args "${text}": only words, no shell operators`);
    return entry;
  });
}

function removeKeys<T>(items: T[], keyOf: (item: T) => string, remove: string[]): T[] {
  return items.filter((i) => !remove.includes(keyOf(i)));
}

/** The service's spec with the update flags applied (a new object; the manager validates it again). */
export function applyUpdateFlags(current: ServiceSpec, flags: FlagValues): ServiceSpec {
  const spec: ServiceSpec = structuredClone(current);
  const image = flags.string('image');
  if (image !== undefined) {
    if (image.trim() === '') throw new UsageError('--image must not be empty');
    spec.image = image;
  }
  const args = flags.string('args');
  if (args !== undefined) spec.command = splitArgs(args);
  const replicas = countFlag(flags, 'replicas');
  if (replicas !== undefined) {
    if (spec.mode === ServiceMode.GLOBAL) throw new UsageError('--replicas can only be used with replicated mode');
    spec.replicas = replicas;
  }
  // env: -rm first, then -add replaces a variable of the same name
  const envKey = (e: string) => e.split('=', 1)[0]!;
  spec.env = removeKeys(spec.env, envKey, flags.list('env-rm'));
  for (const text of flags.list('env-add')) {
    const kv = parseKeyValue(text);
    if (kv === undefined || /\s/.test(kv[0])) throw new UsageError(`invalid --env-add "${text}": expected KEY=VALUE`);
    spec.env = [...removeKeys(spec.env, envKey, [kv[0]]), `${kv[0]}=${kv[1]}`];
  }
  for (const k of flags.list('label-rm')) delete spec.labels[k];
  for (const text of flags.list('label-add')) {
    const kv = parseKeyValue(text);
    if (kv === undefined) throw new UsageError(`invalid --label-add "${text}": expected KEY=VALUE`);
    spec.labels[kv[0]] = kv[1];
  }
  spec.constraints = removeKeys(spec.constraints, (c) => c, flags.list('constraint-rm').map(constraint));
  for (const c of flags.list('constraint-add').map(constraint))
    if (!spec.constraints.includes(c)) spec.constraints.push(c);
  for (const text of flags.list('publish-rm')) {
    const m = /^(\d+)(?:\/(tcp|udp))?$/.exec(text.trim());
    if (!m) throw new UsageError(`invalid --publish-rm "${text}": expected PORT[/PROTOCOL]`);
    const [port, proto] = [Number(m[1]), m[2]];
    spec.ports = spec.ports.filter(
      (p) => (p.publishedPort || p.targetPort) !== port || (proto !== undefined && (p.protocol || 'tcp') !== proto),
    );
  }
  for (const text of flags.list('publish-add')) {
    const p = parsePublish(text);
    spec.ports = [
      ...spec.ports.filter(
        (q) => !(q.publishedPort === p.publishedPort && q.protocol === p.protocol && p.publishedPort > 0),
      ),
      p,
    ];
  }
  spec.networks = removeKeys(spec.networks, (n) => n, flags.list('network-rm'));
  for (const n of flags.list('network-add')) {
    if (n.trim() === '') throw new UsageError('--network-add must not be empty');
    if (!spec.networks.includes(n)) spec.networks.push(n);
  }
  spec.secrets = removeKeys(spec.secrets, (r) => r.secretName, flags.list('secret-rm'));
  for (const text of flags.list('secret-add')) {
    const { name, target } = parseFileRef('secret', text);
    spec.secrets = [
      ...removeKeys(spec.secrets, (r) => r.secretName, [name]),
      { secretId: '', secretName: name, target },
    ];
  }
  spec.configs = removeKeys(spec.configs, (r) => r.configName, flags.list('config-rm'));
  for (const text of flags.list('config-add')) {
    const { name, target } = parseFileRef('config', text);
    spec.configs = [
      ...removeKeys(spec.configs, (r) => r.configName, [name]),
      { configId: '', configName: name, target },
    ];
  }
  const res = (r: typeof spec.limits, cpu?: number, mem?: number) =>
    cpu === undefined && mem === undefined
      ? r
      : { nanoCpus: cpu ?? r?.nanoCpus ?? 0, memoryBytes: mem ?? r?.memoryBytes ?? 0 };
  spec.reservations = res(spec.reservations, cpusFlag(flags, 'reserve-cpu'), sizeFlag(flags, 'reserve-memory'));
  spec.limits = res(spec.limits, cpusFlag(flags, 'limit-cpu'), sizeFlag(flags, 'limit-memory'));
  const grace = durationFlag(flags, STOP_GRACE_PERIOD.long);
  if (grace !== undefined) spec.stopGracePeriodMs = grace;
  spec.health = healthConfig(flags) ?? spec.health;
  const restart = restartPolicy(flags);
  if (restart) {
    // Only the given fields change (docker's update merges them).
    const cur = spec.restart;
    spec.restart = {
      condition: flags.has('restart-condition') ? restart.condition : (cur?.condition ?? restart.condition),
      maxAttempts: flags.has('restart-max-attempts') ? restart.maxAttempts : (cur?.maxAttempts ?? 0),
      windowMs: flags.has('restart-window') ? restart.windowMs : (cur?.windowMs ?? 0),
      ...((restart.delayMs ?? cur?.delayMs) !== undefined && { delayMs: restart.delayMs ?? cur?.delayMs }),
    };
  }
  Object.assign(spec, updateConfigs(flags, { update: spec.update, rollback: spec.rollback }));
  const updated = updateContainerOptions(flags, spec);
  if (flags.bool('force')) updated.forceUpdate = current.forceUpdate + 1;
  asUsage(() => checkServiceSpec(updated));
  return updated;
}

/** Follows what the manager started: a rolling update, a rollback, or (replicas only) a scale. */
export async function follow(
  before: Service | undefined,
  after: Service,
  timeoutMs: number | undefined,
  ctx: CommandContext,
): Promise<ExitCode> {
  const st = after.updateStatus;
  const started =
    st !== undefined &&
    (st.state === UpdateState.UPDATING || st.state === UpdateState.ROLLBACK_STARTED) &&
    st.startedAtMs === after.updatedAtMs;
  if (started)
    return followUpdate(after, timeoutMs === undefined ? {} : { timeoutMs }, {
      getService: (id) => ctx.api.getService(id),
      listTasks: (id) => ctx.api.listTasks({ service: id }),
      clock: ctx.clock,
      out: ctx.out,
      err: ctx.err,
      tty: process.stdout.isTTY === true,
    });
  if (before !== undefined && after.specVersion === before.specVersion) return 0; // nothing changed
  const target = {
    id: after.id,
    name: after.spec?.name ?? '',
    ...(after.spec?.mode === ServiceMode.REPLICATED && { desired: after.spec.replicas }),
  };
  await waitFor([target], { timeoutMs: timeoutMs ?? 120_000 }, ctx);
  return 0;
}

function build({ flags, positionals }: Parsed): UpdateOptions {
  if (positionals.length !== 1) throw new UsageError('service update requires exactly one SERVICE');
  const rollback = flags.bool('rollback');
  if (rollback) {
    const other = [...UPDATE_FLAGS, ...CONTAINER_UPDATE_FLAGS, ...IMAGE_FLAGS].find(
      (f) => f.long !== 'rollback' && flags.has(f.long),
    );
    if (other) throw new UsageError(`--rollback cannot be combined with --${other.long}`);
  }
  // Every flag's own syntax and bounds, before anything is sent (the service's spec comes later).
  else applyUpdateFlags(ServiceSpec.fromPartial({ name: 'check', image: 'check', replicas: 1 }), flags);
  return {
    ref: positionals[0]!,
    flags,
    rollback,
    detach: flags.bool(DETACH.long),
    timeoutMs: durationFlag(flags, TIMEOUT.long, true),
  };
}

export const serviceUpdate: CommandSpec<UpdateOptions> = {
  name: 'service update',
  usage: 'shoal service update [OPTIONS] SERVICE',
  summary: 'Update a service',
  flags: [...UPDATE_FLAGS, ...CONTAINER_UPDATE_FLAGS, ...IMAGE_FLAGS, DETACH, TIMEOUT],
  build,
  async run({ ref, flags, rollback, detach, timeoutMs }, ctx) {
    if (rollback) {
      const back = await ctx.api.rollbackService(ref);
      ctx.out(back.spec?.name ?? ref);
      return detach ? 0 : follow(undefined, back, timeoutMs, ctx);
    }
    const current = await ctx.api.getService(ref);
    const spec = applyUpdateFlags(current.spec!, flags);
    const image = imageRequestOptions(flags, spec.image);
    const updated = await ctx.api.updateService(ref, spec, current.specVersion, image);
    const warning = flags.has('image')
      ? unpinnedWarning(spec.image, updated.spec?.image ?? '', image.resolveImage)
      : undefined;
    if (warning !== undefined) ctx.err(warning);
    ctx.out(updated.spec?.name ?? ref);
    return detach ? 0 : follow(current, updated, timeoutMs, ctx);
  },
};
