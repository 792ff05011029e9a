// The Control router between two in-process "managers" (a memory store each, real grpc-js
// on 127.0.0.1:0): a follower forwards writes to the leader and answers reads from its own
// view; local calls are served without a view; a write the leader refuses comes back as
// the leader said it.
import test from 'ava';
import { Server, ServerCredentials, credentials, status, type ServiceError } from '@grpc/grpc-js';
import {
  ControlClient,
  ControlService,
  type Event,
  type ListServicesResponse,
  type Service,
} from '../../../../proto/gen/shoal.js';
import { ControlRouter, type RouterView } from '../../../../manager/controlapi/router.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
}

async function serve(t: { teardown(fn: () => unknown): void }, view: RouterView) {
  const router = new ControlRouter(view);
  const server = new Server();
  server.addService(ControlService, router.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const address = `127.0.0.1:${port}`;
  const client = new ControlClient(address, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await router.close();
    server.forceShutdown();
  });
  return { address, client };
}

/** A leader and a follower, each with its own state; the follower knows the leader's address. */
async function pair(t: { teardown(fn: () => unknown): void }) {
  const leaderCore = new Core([makeNode('host1')]);
  const followerCore = new Core([makeNode('host1')]);
  t.teardown(async () => {
    await leaderCore.close();
    await followerCore.close();
  });
  const leader = await serve(t, { api: () => leaderCore.api, isLeader: () => true, leaderAddress: () => undefined });
  const follower = await serve(t, {
    api: () => followerCore.api,
    isLeader: () => false,
    leaderAddress: () => leader.address,
  });
  return { leaderCore, followerCore, leader, follower };
}

test('a write sent to a follower is forwarded: it lands in the leader state, and the answer is the leader one', async (t) => {
  const { leaderCore, followerCore, follower } = await pair(t);
  const created = await call<Service>((cb) =>
    follower.client.createService({ spec: makeSpec('web', { replicas: 2 }), resolveImage: 0, registryAuth: '' }, cb),
  );
  t.is(created.spec?.name, 'web');
  t.is(leaderCore.state.serviceByName('web')?.id, created.id, 'written by the leader');
  t.is(followerCore.state.serviceByName('web'), undefined, "never applied to the follower's copy");
  const scaled = await call<Service>((cb) => follower.client.scaleService({ ref: 'web', replicas: 5 }, cb));
  t.is(scaled.spec?.replicas, 5);
  t.is(leaderCore.state.serviceByName('web')?.spec?.replicas, 5);
});

test("a read sent to a follower is answered from the follower's own view", async (t) => {
  const { followerCore, follower } = await pair(t);
  await followerCore.api.createService({ spec: makeSpec('only-in-the-follower-view') });
  const r = await call<ListServicesResponse>((cb) => follower.client.listServices({}, cb));
  t.deepEqual(
    r.services.map((s) => s.service?.spec?.name),
    ['only-in-the-follower-view'],
  );
});

test('a write the leader refuses comes back through the follower with the leader code and message', async (t) => {
  const { leaderCore, follower } = await pair(t);
  await leaderCore.api.createService({ spec: makeSpec('web') });
  const err = (await t.throwsAsync(
    call((cb) => follower.client.createService({ spec: makeSpec('web'), resolveImage: 0, registryAuth: '' }, cb)),
  )) as unknown as ServiceError;
  t.is(err.code, status.ALREADY_EXISTS);
  t.is(err.details, 'service "web" already exists');
});

test('without a view yet: reads are UNAVAILABLE, local calls (Events) are served all the same', async (t) => {
  const served: string[] = [];
  const { client } = await serve(t, {
    api: () => undefined,
    isLeader: () => false,
    leaderAddress: () => undefined,
    local: {
      events: (c) => {
        served.push(c.request.name);
        c.write({ type: 'service', subject: 'shoal.events.service.web', timeMs: 1, payloadJson: '{}' });
        c.end();
      },
    },
  });
  const err = (await t.throwsAsync(call((cb) => client.listNodes({}, cb)))) as unknown as ServiceError;
  t.is(err.code, status.UNAVAILABLE);
  t.is(err.details, 'this manager is still loading the cluster state; try again shortly');
  const events: Event[] = [];
  await new Promise<void>((resolve, reject) => {
    const stream = client.events({ types: [], name: 'web' });
    stream.on('data', (e: Event) => events.push(e));
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  t.deepEqual(served, ['web']);
  t.deepEqual(
    events.map((e) => e.subject),
    ['shoal.events.service.web'],
  );
});
