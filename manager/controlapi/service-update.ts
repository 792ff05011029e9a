// Control.UpdateService and Control.RollbackService: validate the new spec as CreateService
// does, keep the current one as a previous version, and mark the service as updating; the
// leader's updater (manager/orchestrator/update/) rolls the change out task by task.
import type { RollbackServiceRequest, Service, UpdateServiceRequest } from '../../proto/gen/shoal.js';
import { ResolveImage, ServiceMode, UpdateState } from '../../proto/gen/shoal.js';
import type { ClusterState } from '../store/cluster-state.js';
import { failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { checkImageRequest, pinImage } from '../images/pin.js';
import { openRegistryAuth, storeRegistryAuth } from '../images/credentials.js';
import type { Keyring } from '../secrets/keyring.js';
import { sameContainers, sameSpec } from '../orchestrator/update/spec-diff.js';
import { rolledBack, withNewVersion } from '../orchestrator/update/versions.js';
import { resolveFileRefs } from './file-refs.js';
import { checkPortConflicts } from './ports.js';
import { validateSpec, validateStoredSize, withUpdateDefaults } from './validate.js';

export interface ServiceUpdateDeps {
  state: ClusterState;
  /** Resolves once every write made so far is durable. */
  sync: () => Promise<void>;
  now: () => number;
  findService: (ref: string) => Service;
  /** Seals --with-registry-auth credentials (the leader's cluster key). */
  keyring?: Keyring;
}

export async function updateService(d: ServiceUpdateDeps, req: UpdateServiceRequest): Promise<Service> {
  const service = d.findService(req.ref);
  const current = service.spec!;
  if (req.specVersion !== 0 && req.specVersion !== service.specVersion)
    throw failedPrecondition(`service ${current.name} changed since version ${req.specVersion}: run the update again`);
  checkImageRequest(req.resolveImage ?? ResolveImage.ALWAYS, req.registryAuth ?? '');
  let spec = withUpdateDefaults(resolveFileRefs(d.state, validateSpec(req.spec)));
  if (spec.name !== current.name)
    throw invalidArgument(`the name of service ${current.name} cannot change (to ${spec.name})`);
  if (spec.mode !== current.mode) throw invalidArgument(`the mode of service ${current.name} cannot change`);
  validateStoredSize(spec, spec.mode === ServiceMode.GLOBAL ? d.state.nodes.size : spec.replicas);
  checkPortConflicts(d.state, spec);
  if (spec.networks.length === 0) spec.networks = current.networks;
  if (new Set(spec.networks).size !== spec.networks.length) throw invalidArgument('a network is given twice');
  for (const name of spec.networks) if (!d.state.networkByName(name)) throw notFound(`network "${name}" not found`);
  spec = await pinImage({
    spec,
    resolveImage: req.resolveImage ?? ResolveImage.ALWAYS,
    // An update that sends no credentials resolves with the stored ones (a private image).
    registryAuth: req.registryAuth || (d.keyring && openRegistryAuth(d.state, d.keyring, service.id)) || '',
    previous: current,
  });

  const now = d.now();
  const latest = d.findService(service.id); // the pin may have awaited: compare with what is stored now
  if (latest.specVersion !== service.specVersion)
    throw failedPrecondition(
      `service ${current.name} changed since version ${service.specVersion}: run the update again`,
    );
  let updated: Service;
  if (sameSpec(spec, current)) {
    // Nothing changed: no new version. A paused update goes on (as `docker service update` does).
    const state = service.updateStatus?.state;
    if (state !== UpdateState.PAUSED && state !== UpdateState.ROLLBACK_PAUSED) return service;
    updated = { ...service, updatedAtMs: now, updateStatus: updating(now, state === UpdateState.ROLLBACK_PAUSED) };
  } else if (sameContainers(spec, current)) {
    // Replicas or configs only: a new version, no task replaced.
    updated = withNewVersion(service, spec, now);
  } else {
    updated = withNewVersion(service, spec, now, updating(now, false));
  }
  if (req.registryAuth)
    updated = { ...updated, hasRegistryAuth: storeRegistryAuth(d.state, d.keyring, service.id, req.registryAuth) };
  d.state.putService(updated);
  await durable(d, service);
  return updated;
}

export async function rollbackService(d: ServiceUpdateDeps, req: RollbackServiceRequest): Promise<Service> {
  const service = d.findService(req.ref);
  const back = rolledBack(service, d.now(), 'manually requested rollback');
  if (!back) throw failedPrecondition(`service ${service.spec?.name} has no previous version to roll back to`);
  d.state.putService(back);
  await durable(d, service);
  return back;
}

function updating(now: number, rollback: boolean) {
  return rollback
    ? { state: UpdateState.ROLLBACK_STARTED, startedAtMs: now, completedAtMs: 0, message: 'rollback in progress' }
    : { state: UpdateState.UPDATING, startedAtMs: now, completedAtMs: 0, message: 'update in progress' };
}

/** Waits for the write; when the store refused it, puts the service back and fails the call. */
async function durable(d: ServiceUpdateDeps, before: Service): Promise<void> {
  await d.sync();
  const refusal = d.state.refusal('services', before.id);
  if (refusal === undefined) return;
  d.state.putService(before);
  throw invalidArgument(`not stored: ${refusal.message}`, { cause: refusal });
}
