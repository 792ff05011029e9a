// shoal service create: flags -> a ServiceSpec (checked before anything is sent), create it,
// wait for it to converge unless --detach, print its id.
import { ServiceMode, ServiceSpec } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import type { FlagSpec, Parsed } from '../../parse/flags.js';
import { checkServiceSpec } from '../../../proto/spec-rules.js';
import { asUsage, labelFlags, parseCount } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { PUBLISH, publishedPorts } from './ports.js';
import {
  CONSTRAINT,
  constraint,
  ENV,
  envVars,
  HEALTH_FLAGS,
  healthConfig,
  LABEL,
  NETWORK,
  networkNames,
  RESOURCE_FLAGS,
  resources,
  RESTART_FLAGS,
  restartPolicy,
  STOP_GRACE_PERIOD,
  stopGracePeriod,
} from './spec-flags.js';
import { CONFIG, configRefs, SECRET, secretRefs } from './file-refs.js';
import { CONTAINER_CREATE_FLAGS, containerOptions } from './container-flags.js';
import { UPDATE_CONFIG_FLAGS, updateConfigs } from './update-config-flags.js';
import { IMAGE_FLAGS, type ImageRequestOptions, imageRequestOptions, unpinnedWarning } from './image-flags.js';
import { DETACH, TIMEOUT, waitFor, type WaitOptions, waitOptions, type WaitTarget } from './wait.js';

const DEFAULT_REPLICAS = 1; // as docker

const NAME: FlagSpec = { long: 'name', type: 'string', value: 'NAME', help: 'Service name (required)' };
const REPLICAS: FlagSpec = {
  long: 'replicas',
  type: 'string',
  value: 'N',
  help: `Number of tasks (default ${DEFAULT_REPLICAS})`,
};
const MODE: FlagSpec = { long: 'mode', type: 'string', value: 'MODE', help: 'replicated (default) or global' };

export interface CreateOptions {
  spec: ServiceSpec;
  image: ImageRequestOptions;
  /** undefined: --detach. */
  wait: WaitOptions | undefined;
}

function build({ flags, positionals }: Parsed): CreateOptions {
  const name = flags.string('name') ?? '';
  if (name === '') throw new UsageError('service create requires --name');
  const [image, ...command] = positionals;
  if (image === undefined || image === '') throw new UsageError('service create requires an IMAGE');

  const modeText = flags.string('mode') ?? 'replicated';
  if (modeText !== 'replicated' && modeText !== 'global') {
    throw new UsageError(`invalid --mode "${modeText}": expected replicated or global`);
  }
  const replicasText = flags.string('replicas');
  if (modeText === 'global' && replicasText !== undefined) {
    throw new UsageError('--replicas can only be used with --mode replicated');
  }
  let replicas = modeText === 'global' ? 0 : DEFAULT_REPLICAS;
  if (replicasText !== undefined) {
    const n = parseCount(replicasText);
    if (n === undefined) throw new UsageError(`--replicas must be a non-negative integer, got "${replicasText}"`);
    replicas = n;
  }

  const constraints = flags.list(CONSTRAINT.long).map(constraint);
  const { reservations, limits } = resources(flags);
  const env = envVars(flags, ENV.long);
  const labels = labelFlags(flags, LABEL.long);
  const networks = networkNames(flags, NETWORK.long);
  const ports = publishedPorts(flags);
  const stopGracePeriodMs = stopGracePeriod(flags);
  const health = healthConfig(flags);
  const restart = restartPolicy(flags);
  const wait = waitOptions(flags);

  const spec: ServiceSpec = {
    ...ServiceSpec.fromPartial({}),
    name,
    image,
    command,
    env,
    labels,
    mode: modeText === 'global' ? ServiceMode.GLOBAL : ServiceMode.REPLICATED,
    replicas,
    constraints,
    reservations,
    limits,
    ports,
    restart,
    health,
    networks,
    secrets: secretRefs(flags),
    configs: configRefs(flags),
  };
  Object.assign(spec, containerOptions(flags), updateConfigs(flags));
  if (stopGracePeriodMs !== undefined) spec.stopGracePeriodMs = stopGracePeriodMs;
  // The manager's bounds (name a DNS label, replicas, sizes, durations), refused before any call.
  asUsage(() => checkServiceSpec(spec));
  return { spec, image: imageRequestOptions(flags, image), wait };
}

export const serviceCreate: CommandSpec<CreateOptions> = {
  name: 'service create',
  usage: 'shoal service create [OPTIONS] IMAGE [COMMAND [ARG...]]',
  summary: 'Create a new service',
  stopAtPositional: true,
  flags: [
    NAME,
    REPLICAS,
    MODE,
    CONSTRAINT,
    ...RESOURCE_FLAGS,
    ENV,
    LABEL,
    PUBLISH,
    NETWORK,
    SECRET,
    CONFIG,
    STOP_GRACE_PERIOD,
    ...HEALTH_FLAGS,
    ...RESTART_FLAGS,
    ...CONTAINER_CREATE_FLAGS,
    ...UPDATE_CONFIG_FLAGS,
    ...IMAGE_FLAGS,
    DETACH,
    TIMEOUT,
  ],
  build,
  async run({ spec, image, wait }, ctx) {
    const service = await ctx.api.createService(spec, image);
    const warning = unpinnedWarning(spec.image, service.spec?.image ?? '', image.resolveImage);
    if (warning !== undefined) ctx.err(warning);
    if (wait !== undefined) {
      const target: WaitTarget = { id: service.id, name: service.spec?.name || spec.name };
      if (spec.mode === ServiceMode.REPLICATED) target.desired = spec.replicas;
      await waitFor([target], wait, ctx);
    }
    ctx.out(service.id);
    return 0;
  },
};
