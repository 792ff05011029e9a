// Discovery through whole managers (two, real etcd and NATS, in this process): an agent's
// running task is registered by the leader, seen by both managers' catalogs, answered by
// LookupService and the HTTP API on the follower too, published on NATS; a taken
// --http-listen port fails the start with one clear line.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import http from 'node:http';
import net from 'node:net';
import { connect, JSONCodec } from 'nats';
import { natsOptions } from '../../../manager/config/connections.js';
import type { ServiceError } from '@grpc/grpc-js';
import { ControlClient, DispatcherClient, type Event, type ServiceEndpoints } from '../../../proto/gen/shoal.js';
import { TaskState } from '../../../proto/task-state.js';
import { Manager } from '../../../manager/manager.js';
import { adminCredentials, managerConfig, workerCredentials, startControlPlane } from '../../helpers/control-plane.js';
import { join } from 'node:path';
import { MANAGER_CHANNEL_OPTIONS } from '../../../proto/pki/grpc-tls.js';
import { makeSpec } from '../../helpers/fixtures.js';
import { until } from '../../helpers/until.js';

function call<T>(fn: (cb: (e: ServiceError | null, r: T) => void) => void): Promise<T> {
  return new Promise((res, rej) => fn((e, r) => (e ? rej(e) : res(r))));
}

function httpGet(
  address: string,
  path: string,
): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.get(`http://${address}${path}`, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
  });
}

test('an endpoint flows from the leader to both managers: LookupService, HTTP API, NATS, Events', async (t) => {
  const cp = await startControlPlane('shoal-endpoints-mgr-');
  const natsUrl = cp.natsUrl;
  const managers: Manager[] = [];
  const clients: ControlClient[] = [];
  const sub = await connect({ ...natsOptions(cp.natsAuth), servers: natsUrl });
  const codec = JSONCodec<Record<string, unknown>>();
  const published: Record<string, unknown>[] = [];
  const s = sub.subscribe('shoal.events.endpoint.>');
  void (async () => {
    for await (const m of s) published.push(codec.decode(m.data));
  })();
  try {
    for (let i = 0; i < 2; i++) {
      // the raw agent below sends no heartbeats: a long period keeps its node ready however slow the run
      const m = new Manager(managerConfig(cp, `m${i}`, { httpListen: '127.0.0.1:0', heartbeatPeriodMs: 60_000 }));
      await m.start();
      managers.push(m);
      clients.push(new ControlClient(m.boundAddress, adminCredentials(join(cp.dir, `m${i}`)), MANAGER_CHANNEL_OPTIONS));
    }
    await until(() => managers.some((m) => m.isLeader), 'a leader');
    const leader = managers.find((m) => m.isLeader)!;
    const follower = managers.find((m) => !m.isLeader)!;
    const followerClient = clients[managers.indexOf(follower)]!;
    t.regex(follower.httpAddress, /^127\.0\.0\.1:\d+$/);

    // Events on the follower, from before anything happens.
    const events: Event[] = [];
    const stream = followerClient.events({ types: ['endpoint'], name: 'web' });
    stream.on('data', (e: Event) => events.push(e));
    stream.on('error', () => {});

    // An agent joins the leader; a service is created; its task runs.
    const worker = await workerCredentials(leader, 'host1');
    const agent = new DispatcherClient(leader.boundAddress, worker.credentials, MANAGER_CHANNEL_OPTIONS);
    const reg = await call<{ nodeId: string; sessionId: string }>((cb) =>
      agent.register(
        {
          joinToken: 'T',
          nodeId: '',
          description: {
            hostname: 'host1',
            resources: { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3 },
            labels: {},
            engineVersion: '',
            os: 'linux',
            arch: 'x86_64',
            address: '',
          },
        },
        cb,
      ),
    );
    await call((cb) =>
      followerClient.createService({ spec: makeSpec('web', { replicas: 1 }), resolveImage: 0, registryAuth: '' }, cb),
    );
    await until(
      () =>
        (leader.state!.tasksOfService(leader.state!.serviceByName('web')!.id)[0]?.status?.state ?? 0) >=
        TaskState.ASSIGNED,
      'assigned',
    );
    const task = leader.state!.tasksOfService(leader.state!.serviceByName('web')!.id)[0]!;
    await call((cb) =>
      agent.updateTaskStatus(
        {
          nodeId: reg.nodeId,
          sessionId: reg.sessionId,
          updates: [
            {
              taskId: task.id,
              status: {
                state: TaskState.RUNNING,
                message: '',
                err: '',
                containerId: 'c1',
                exitCode: 0,
                timestampMs: 0,
                addresses: [{ network: 'shoal', ip: '10.42.0.2' }],
              },
            },
          ],
        },
        cb,
      ),
    );
    // (NOT_FOUND until the follower's watch brought the service: tolerated.)
    const ms = await until(
      async () =>
        (await call<ServiceEndpoints>((cb) => followerClient.lookupService({ name: 'web' }, cb)).catch(() => undefined))
          ?.endpoints.length === 1,
      'follower lookup',
    );
    t.log(`measured: RUNNING reported to the follower's LookupService answering: ${ms} ms`);
    const viaLeader = await call<ServiceEndpoints>((cb) =>
      clients[managers.indexOf(leader)]!.lookupService({ name: 'web' }, cb),
    );
    const viaFollower = await call<ServiceEndpoints>((cb) => followerClient.lookupService({ name: 'web' }, cb));
    t.deepEqual(viaLeader.endpoints, viaFollower.endpoints);
    t.is(viaLeader.index, viaFollower.index, 'the same etcd revision on both');
    t.is(viaFollower.endpoints[0]!.nodeName, 'host1');
    t.is(viaFollower.endpoints[0]!.nodeAddress, '127.0.0.1');

    // The follower's HTTP API, in Consul's shape.
    const res = await httpGet(follower.httpAddress, '/v1/health/service/web?passing');
    t.is(res.status, 200);
    const body = JSON.parse(res.body) as { Service: { ID: string; Address: string } }[];
    t.is(body.length, 1);
    t.is(body[0]!.Service.Address, '10.42.0.2');
    t.is(res.headers['x-consul-index'], String(viaFollower.index));

    // NATS (published once, by the leader) and Events (relayed by the follower).
    await until(() => published.length >= 1 && events.length >= 1, 'endpoint events');
    t.is(published[0]!.type, 'registered');
    t.is(published[0]!.task, task.id);
    t.is(published[0]!.node, 'host1');
    t.deepEqual(published[0]!.addresses, [{ network: 'shoal', ip: '10.42.0.2' }]);
    t.is(events[0]!.type, 'endpoint');
    t.is((JSON.parse(events[0]!.payloadJson) as { type: string }).type, 'registered');

    // Removing the service deregisters it everywhere.
    await call((cb) => followerClient.removeService({ ref: 'web' }, cb));
    await until(() => published.some((p) => p.type === 'deregistered'), 'deregistered');
    // Absence of a second publication: a follower would have published when its catalog saw
    // the key, before the deregistration; this leaves such a duplicate time to arrive.
    await sleep(200);
    t.is(published.filter((p) => p.type === 'registered').length, 1, 'published once, not per manager');
    stream.cancel();
    agent.close();
  } finally {
    for (const c of clients) c.close();
    for (const m of managers) await m.close();
    await sub.close();
    await cp.close();
  }
});

test('a taken --http-listen port fails the start with one line naming the flag', async (t) => {
  const cp = await startControlPlane('shoal-endpoints-mgr-');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const taken = `127.0.0.1:${(blocker.address() as net.AddressInfo).port}`;
  const m = new Manager(managerConfig(cp, 'm', { httpListen: taken }));
  try {
    const err = await t.throwsAsync(m.start());
    t.is(err.message, `--http-listen ${taken}: address already in use (give another HOST:PORT, or off)`);
    t.false(err.message.includes('\n'));
  } finally {
    await m.close();
    blocker.close();
    await cp.close();
  }
});
