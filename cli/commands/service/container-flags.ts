// The container options of a service (mounts, user, workdir, entrypoint, hostname, labels on
// containers, stop signal, read-only root, init, capabilities, ulimits, DNS, placement
// preferences, replicas per node): their `service create` flags and their `service update`
// flags (the -add/-rm pairs), parsed in one place for both commands (and stacks).
// Placeholder: the flags are added with #13's container work.
import type { ServiceSpec } from '../../../proto/gen/shoal.js';
import type { FlagSpec, FlagValues } from '../../parse/flags.js';

/** The flags `service create` takes for container options. */
export const CONTAINER_CREATE_FLAGS: FlagSpec[] = [];

/** The flags `service update` takes for container options. */
export const CONTAINER_UPDATE_FLAGS: FlagSpec[] = [];

/** The container options `service create` sets, from its flags. */
export function containerOptions(_flags: FlagValues): Partial<ServiceSpec> {
  return {};
}

/** `spec` with the container options `service update`'s flags change (a new object). */
export function updateContainerOptions(_flags: FlagValues, spec: ServiceSpec): ServiceSpec {
  return spec;
}
