// A service's mounts (ServiceSpec.mounts) -> the engine's HostConfig.Mounts. Pure.
//
// Named volumes use the local driver and are created by the engine on the container's
// create, on the node where the task first needs them, with the mount's labels and nocopy
// (VolumeOptions apply only when the engine creates the volume). The name is the source as
// given, so a task replaced on the same node finds the same volume and its data; `docker
// volume rm` is the administrator's. An anonymous volume (no source) belongs to its container
// and goes with it (the controller removes containers with their anonymous volumes, v=true).
// Bind mounts give the container that host path: allowed, as in Swarm, and the README says
// what that means (the whole host with `/` or the docker socket).
import type Docker from 'dockerode';
import { type Mount, MountType } from '../../../proto/gen/shoal.js';

/** The engine's mount for one spec mount. */
export function engineMount(m: Mount): Docker.MountSettings {
  switch (m.type) {
    case MountType.BIND:
      return {
        Type: 'bind',
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly,
        ...(m.bindPropagation !== ''
          ? { BindOptions: { Propagation: m.bindPropagation as Docker.MountPropagation } }
          : {}),
      };
    case MountType.TMPFS:
      // 0 leaves the engine's default: no size limit, mode 1777.
      return {
        Type: 'tmpfs',
        Source: '',
        Target: m.target,
        ReadOnly: m.readOnly,
        TmpfsOptions: { SizeBytes: m.tmpfsSizeBytes, Mode: m.tmpfsMode },
      };
    default:
      return {
        Type: 'volume',
        Source: m.source,
        Target: m.target,
        ReadOnly: m.readOnly,
        VolumeOptions: {
          NoCopy: m.volumeNocopy,
          Labels: { ...m.volumeLabels },
          DriverConfig: { Name: 'local', Options: {} },
        },
      };
  }
}

/**
 * The spec's mounts, then the agent's `files` (secrets and configs, files.ts). A spec mount
 * whose target a secret or config file also uses is left out: the file wins, as before
 * mounts existed (the engine refuses two mounts on one target).
 */
export function engineMounts(specMounts: readonly Mount[], files: Docker.MountSettings[]): Docker.MountSettings[] {
  const fileTargets = new Set(files.map((f) => f.Target));
  return [...specMounts.filter((m) => !fileTargets.has(m.target)).map(engineMount), ...files];
}
