// UpdateService and RollbackService on the fake Control server (fake-control.ts): versions
// kept as the manager keeps them, the update status from FakeControl.updateScript.
import { pinnedLikeManager } from './fake-pin.js';
import { status as grpcStatus, type StatusObject } from '@grpc/grpc-js';
import {
  type RollbackServiceRequest,
  type Service,
  type UpdateServiceRequest,
  UpdateState,
  type UpdateStatus,
} from '../../proto/gen/shoal.js';

type Failure = Partial<StatusObject>;

interface FakeLike {
  findService(ref: string): Service | Failure;
  readonly updateScript: Map<string, Array<Partial<UpdateStatus>>>;
}

const isService = (x: Service | Failure): x is Service => 'id' in x;
let clock = Date.parse('2026-01-02T00:00:00Z');

export function fakeUpdate(fake: FakeLike, req: UpdateServiceRequest): Service | Failure {
  const found = fake.findService(req.ref);
  if (!isService(found)) return found;
  if (req.specVersion !== 0 && req.specVersion !== found.specVersion)
    return {
      code: grpcStatus.FAILED_PRECONDITION,
      details: `service ${found.spec?.name} changed since version ${req.specVersion}: run the update again`,
    };
  const now = (clock += 1_000);
  found.previousVersions = [
    ...found.previousVersions,
    { specVersion: found.specVersion, spec: found.spec, createdAtMs: found.updatedAtMs },
  ].slice(-10);
  // As the manager: the image pinned to a digest (unless --resolve-image never).
  found.spec = req.spec && { ...req.spec, image: pinnedLikeManager(req) };
  found.specVersion++;
  found.updatedAtMs = now;
  found.updateStatus = {
    state: UpdateState.UPDATING,
    startedAtMs: now,
    completedAtMs: 0,
    message: 'update in progress',
  };
  return found;
}

export function fakeRollback(fake: FakeLike, req: RollbackServiceRequest): Service | Failure {
  const found = fake.findService(req.ref);
  if (!isService(found)) return found;
  const back = found.previousVersions.pop();
  if (!back)
    return {
      code: grpcStatus.FAILED_PRECONDITION,
      details: `service ${found.spec?.name} has no previous version to roll back to`,
    };
  const now = (clock += 1_000);
  found.spec = back.spec;
  found.specVersion++;
  found.updatedAtMs = now;
  found.updateStatus = {
    state: UpdateState.ROLLBACK_STARTED,
    startedAtMs: now,
    completedAtMs: 0,
    message: 'manually requested rollback',
  };
  return found;
}

/** GetService's answer: the service with the next scripted update status (same start time). */
export function scriptedStatus(fake: FakeLike, found: Service | Failure): Service | Failure {
  if (!isService(found)) return found;
  const script = fake.updateScript.get(found.spec?.name ?? '');
  const next = script && (script.length > 1 ? script.shift() : script[0]);
  if (!next || !found.updateStatus) return found;
  found.updateStatus = { ...found.updateStatus, ...next };
  return found;
}
