// A service's versions: every spec change keeps the spec it replaces (at most
// MAX_PREVIOUS_VERSIONS, oldest dropped); a rollback takes the newest back and drops it, so a
// second rollback goes further back (Swarm keeps one and goes forward again).
import type { Service, ServiceSpec, UpdateStatus } from '../../../proto/gen/shoal.js';
import { UpdateState } from '../../../proto/gen/shoal.js';

export const MAX_PREVIOUS_VERSIONS = 10;

/** The service running `spec` as a new version, with the current spec kept as the newest previous one. */
export function withNewVersion(service: Service, spec: ServiceSpec, now: number, status?: UpdateStatus): Service {
  const previous = [
    ...service.previousVersions,
    { specVersion: service.specVersion, spec: service.spec, createdAtMs: service.updatedAtMs },
  ].slice(-MAX_PREVIOUS_VERSIONS);
  return {
    ...service,
    spec,
    specVersion: service.specVersion + 1,
    updatedAtMs: now,
    previousVersions: previous,
    updateStatus: status ?? service.updateStatus,
  };
}

/**
 * The service going back to its newest previous version, whole (replicas too, as Swarm), as a
 * new version number (tasks compare specs, not numbers), rolled out with that spec's rollback
 * config; undefined when there is none.
 */
export function rolledBack(service: Service, now: number, message: string): Service | undefined {
  const back = service.previousVersions[service.previousVersions.length - 1];
  if (!back?.spec) return undefined;
  return {
    ...service,
    spec: back.spec,
    specVersion: service.specVersion + 1,
    updatedAtMs: now,
    previousVersions: service.previousVersions.slice(0, -1),
    updateStatus: { state: UpdateState.ROLLBACK_STARTED, startedAtMs: now, completedAtMs: 0, message },
  };
}

/** Whether an update or rollback is rolling out now (the updater acts on it). */
export function rollingOut(service: Service | undefined): boolean {
  const s = service?.updateStatus?.state;
  return s === UpdateState.UPDATING || s === UpdateState.ROLLBACK_STARTED;
}
