// Two managers in this process against a real etcd: one leads, the follower serves reads
// from its watch and forwards writes, and the follower takes over when the leader stops.
import test from 'ava';
import type { ServiceError } from '@grpc/grpc-js';
import { ControlClient, type ListServicesResponse, type ListManagersResponse } from '../../../proto/gen/shoal.js';
import { Manager } from '../../../manager/manager.js';
import { adminCredentials, managerConfig, startControlPlane } from '../../helpers/control-plane.js';
import { join } from 'node:path';
import { MANAGER_CHANNEL_OPTIONS } from '../../../proto/pki/grpc-tls.js';
import { makeSpec } from '../../helpers/fixtures.js';
import { until } from '../../helpers/until.js';

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
}

test('leader election, forwarded writes, follower reads, hand-over on stop', async (t) => {
  const cp = await startControlPlane('shoal-ha-');
  const managers: Manager[] = [];
  const clients: ControlClient[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const m = new Manager(managerConfig(cp, `m${i}`));
      await m.start();
      managers.push(m);
      clients.push(new ControlClient(m.boundAddress, adminCredentials(join(cp.dir, `m${i}`)), MANAGER_CHANNEL_OPTIONS));
    }
    await until(() => managers.some((m) => m.isLeader), 'a leader');
    t.is(managers.filter((m) => m.isLeader).length, 1, 'exactly one leader');
    const leaderIdx = managers.findIndex((m) => m.isLeader);
    const followerIdx = 1 - leaderIdx;

    // A write sent to the follower is forwarded; both views then show it.
    await call((cb) =>
      clients[followerIdx]!.createService(
        { spec: makeSpec('web', { replicas: 2 }), resolveImage: 0, registryAuth: '' },
        cb,
      ),
    );
    await until(async () => {
      const r = await call<ListServicesResponse>((cb) => clients[followerIdx]!.listServices({}, cb));
      return r.services.length === 1 && (r.services[0]?.status?.desired ?? 0) === 2;
    }, 'both views show the service');
    const ms = await call<ListManagersResponse>((cb) => clients[followerIdx]!.listManagers({}, cb));
    t.is(ms.managers.length, 2);
    t.is(ms.managers.filter((m) => m.leader).length, 1);
    t.is(ms.managers.find((m) => m.leader)!.address, managers[leaderIdx]!.boundAddress);

    // The leader stops (resigns): the follower leads and accepts writes at once.
    await managers[leaderIdx]!.close();
    const takeover = await until(() => managers[followerIdx]!.isLeader, 'the follower leads');
    t.log(`measured: follower leads ${takeover} ms after the leader stopped`);
    await call((cb) => clients[followerIdx]!.scaleService({ ref: 'web', replicas: 5 }, cb));
    const r = await call<ListServicesResponse>((cb) => clients[followerIdx]!.listServices({}, cb));
    t.is(r.services[0]?.service?.spec?.replicas, 5);
    t.is(
      managers[followerIdx]!.state!.tasksOfService(r.services[0]!.service!.id).length,
      5,
      'the new leader orchestrates',
    );
  } finally {
    for (const c of clients) c.close();
    for (const m of managers) await m.close();
    await cp.close();
  }
});
