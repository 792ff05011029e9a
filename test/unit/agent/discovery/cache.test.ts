// Discovery's client side against the fake Dispatcher's Endpoints stream (real grpc-js on
// 127.0.0.1): names watched on demand, a reopened stream replacing what the old one said, a
// failover to another manager through the agent's session, the local fast path (a task of
// this host that stops leaves the answers at once), and the DNS server on top of it.
import dgram from 'node:dgram';
import { credentials } from '@grpc/grpc-js';
import test, { type ExecutionContext } from 'ava';
import dnsPacket, { type DecodedPacket } from 'dns-packet';
import {
  AssignmentsMessage_Kind,
  DispatcherClient,
  PortConfig,
  TaskState,
  type Endpoint,
  type RegisterResponse,
} from '../../../../proto/gen/shoal.js';
import { Agent } from '../../../../agent/agent.js';
import { EndpointCache } from '../../../../agent/discovery/cache.js';
import { DnsServer } from '../../../../agent/discovery/dns-server.js';
import { HostAskers, LocalTasks } from '../../../../agent/discovery/local-tasks.js';
import { EndpointsSubscription } from '../../../../agent/discovery/subscription.js';
import type { Controller, Executor, ManagedContainer } from '../../../../agent/exec/executor.js';
import type { Task } from '../../../../proto/gen/shoal.js';
import { FakeExecutor } from '../../../helpers/fake-executor.js';
import { FakeDispatcher } from '../../../helpers/fake-dispatcher.js';
import { makeTask, measured, until, withDesired } from '../../../helpers/agent-support.js';

function ep(taskId: string, ip: string, network = 'shoal'): Partial<Endpoint> {
  return { taskId, serviceName: 'web', nodeId: 'nodeX', addresses: [{ network, ip }] };
}

const ids = (se: { endpoints: Endpoint[] } | undefined) => (se?.endpoints ?? []).map((e) => e.taskId).sort();

async function dispatcher(t: ExecutionContext): Promise<FakeDispatcher> {
  const d = new FakeDispatcher();
  await d.start();
  t.teardown(() => d.stop());
  return d;
}

/** A client registered with `d` (the stream needs a valid session), plus cache + subscription. */
async function follow(
  t: ExecutionContext,
  d: FakeDispatcher,
  opts: { staleGraceMs?: number; watchWaitMs?: number } = {},
) {
  const client = new DispatcherClient(d.address, credentials.createInsecure());
  t.teardown(() => client.close());
  const reg = await new Promise<RegisterResponse>((resolve, reject) =>
    client.register({ joinToken: 't', nodeId: '', description: undefined }, (err, res) =>
      err ? reject(err) : resolve(res),
    ),
  );
  const lines: string[] = [];
  const cache = new EndpointCache({ log: (l) => lines.push(l), ...opts });
  t.teardown(() => cache.close());
  const sub = new EndpointsSubscription({ cache, retryMs: 50, log: (l) => lines.push(l) });
  const stop = sub.follow(client, { nodeId: reg.nodeId, sessionId: reg.sessionId });
  t.teardown(stop);
  return { cache, sub, stop, lines, client };
}

test('a name not yet watched is watched on demand and answered within the wait; then served from the cache', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  const { cache } = await follow(t, d);
  await until(() => cache.serviceName('web') === 'web', 'service names');
  t.is(cache.serviceName('WEB'), 'web');
  t.is(cache.serviceName('nosuch'), null);
  t.deepEqual(d.endpointRequests[0]?.watch, [], 'nothing watched yet');

  const start = Date.now();
  const first = cache.lookup('web');
  t.true(first instanceof Promise, 'not cached: it waits');
  t.deepEqual(ids(await first), ['t1', 't2']);
  measured(t, 'discovery on-demand watch answered', Date.now() - start);
  t.deepEqual(d.endpointRequests.at(-1)?.watch, ['web']);
  t.false(cache.lookup('web') instanceof Promise, 'now from the cache');
  t.is(d.endpointRequests.length, 2, 'no second watch');

  d.setService({ name: 'web', endpoints: [ep('t2', '10.42.2.2'), ep('t3', '10.42.3.2')] as Endpoint[] });
  await until(() => ids(cache.get('web')).join() === 't2,t3', 'change pushed');
  d.removeService('web');
  await until(() => cache.get('web')?.exists === false && cache.serviceName('web') === null, 'removal: exists=false');
});

test('no answer within the wait (manager partitioned): undefined, i.e. SERVFAIL; UNIMPLEMENTED: at once', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web' });
  d.holdWatches = true;
  const { cache } = await follow(t, d, { watchWaitMs: 200 });
  await until(() => cache.serviceName('web') === 'web');
  const start = Date.now();
  t.is(await cache.lookup('web'), undefined);
  t.true(Date.now() - start >= 190);

  const old = await dispatcher(t);
  old.endpointsMode = 'unimplemented';
  const o = await follow(t, old);
  await until(() => o.lines.some((l) => l.includes('no Endpoints stream')));
  const t0 = Date.now();
  t.is(await o.cache.lookup('web'), undefined);
  t.true(Date.now() - t0 < 50, 'no wait when nothing will come');
});

test('a reopened stream re-watches every name and its answers replace the old ones: nothing stale survives', async (t) => {
  const d = await dispatcher(t);
  const ingress = [PortConfig.fromPartial({ protocol: 'tcp', targetPort: 80, publishedPort: 8080 })];
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2')] as Endpoint[] });
  d.setService({ name: 'old', endpoints: [ep('o1', '10.42.1.9')] as Endpoint[] });
  d.setService({ name: 'edge', ports: ingress, endpoints: [ep('e1', '10.42.1.5')] as Endpoint[] });
  d.setService({ name: 'quiet', endpoints: [ep('q1', '10.42.1.6')] as Endpoint[] });
  const { cache, sub } = await follow(t, d, { staleGraceMs: 200 });
  await until(() => cache.get('edge') !== undefined, 'ingress service sent unasked');
  t.deepEqual(ids(await cache.lookup('web')), ['t1']);
  t.deepEqual(ids(await cache.lookup('old')), ['o1']);
  t.deepEqual(ids(await cache.lookup('quiet')), ['q1']);

  // The manager restarts with a different truth (changes it never pushed to the old stream).
  d.breakEndpointStreams();
  d.catalog.delete('old');
  d.catalog.set('web', {
    ...d.lookupService('web'),
    endpoints: d.lookupService('web').endpoints.map((e) => ({ ...e, taskId: 't9' })),
  });
  d.catalog.set('edge', { ...d.lookupService('edge'), ports: [] });
  d.unanswered.add('quiet'); // still a service, but the new manager does not answer it (yet)

  await until(() => sub.opened === 2, 'stream reopened');
  await until(() => d.endpointRequests.length >= 5);
  t.deepEqual(
    [...(d.endpointRequests.at(-1)?.watch ?? [])].sort(),
    ['old', 'quiet', 'web'],
    'the first request re-watches everything',
  );
  await until(() => ids(cache.get('web')).join() === 't9', 'replaced');
  t.is(cache.get('old')?.exists ?? false, false, 'a service gone from the name list goes at once');
  t.deepEqual(ids(cache.get('old')), []);
  t.is(cache.serviceName('old'), null);
  t.truthy(cache.get('edge'), 'not yet: unconfirmed entries live until the grace ends');
  await until(() => cache.get('edge') === undefined && cache.get('quiet') === undefined, 'unconfirmed entries dropped');
  t.deepEqual(ids(cache.get('web')), ['t9']);
});

test("failover through the session: a new manager's stream replaces what the old one said", async (t) => {
  const d1 = await dispatcher(t);
  const d2 = await dispatcher(t);
  for (const d of [d1, d2]) d.tasks.set('node1', []);
  d1.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  d2.setService({ name: 'web', endpoints: [ep('t2', '10.42.2.2')] as Endpoint[] });
  d2.leader = false;
  const cache = new EndpointCache();
  t.teardown(() => cache.close());
  const agent = new Agent({
    managers: [d1.address, d2.address],
    joinToken: 't',
    hostname: 'host1',
    labels: {},
    executor: new FakeExecutor(),
    backoffBaseMs: 20,
    backoffMaxMs: 100,
    endpoints: new EndpointsSubscription({ cache, retryMs: 50 }),
  });
  t.teardown(() => agent.close());
  agent.start();
  await until(() => cache.serviceName('web') === 'web', 'first stream');
  t.deepEqual(ids(await cache.lookup('web')), ['t1', 't2']);
  d2.leader = true;
  d1.stepDown();
  await until(() => d2.endpointStreamCount() === 1, 'stream on the new leader');
  t.deepEqual(d2.watchedNames(), [['web']], 'watched names carried over');
  await until(() => ids(cache.get('web')).join() === 't2', "the new leader's answer");
});

/** The fake executor, with container stops held at a gate (to see what happens before one). */
class GatedExecutor implements Executor {
  gate: Promise<void> | undefined;
  constructor(readonly fx: FakeExecutor) {}
  describe() {
    return this.fx.describe();
  }
  listManaged() {
    return this.fx.listManaged();
  }
  controller(task: Task, existing?: ManagedContainer): Controller {
    const inner = this.fx.controller(task, existing);
    const c = Object.create(inner) as Controller;
    const shutdown = inner.shutdown.bind(inner);
    Object.defineProperty(c, 'shutdown', {
      value: async (graceMs: number | undefined) => {
        await this.gate;
        return shutdown.call(c, graceMs);
      },
    });
    return c;
  }
}

async function agentWithDiscovery(t: ExecutionContext) {
  const d = await dispatcher(t);
  d.tasks.set('node1', [makeTask('t1'), makeTask('t2', { slot: 2 })]);
  d.setService({
    name: 'web',
    endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.1.3'), ep('r1', '10.42.2.2')] as Endpoint[],
  });
  const fx = new FakeExecutor();
  const exec = new GatedExecutor(fx);
  const cache = new EndpointCache();
  t.teardown(() => cache.close());
  const agent = new Agent({
    managers: [d.address],
    joinToken: 't',
    hostname: 'host1',
    labels: {},
    executor: exec,
    retryMinMs: 5,
    endpoints: new EndpointsSubscription({ cache, retryMs: 50 }),
    taskObserver: new LocalTasks(cache),
  });
  t.teardown(() => agent.close());
  agent.start();
  await until(
    () => ['t1', 't2'].every((id) => d.updates.some((u) => u.taskId === id && u.status?.state === TaskState.RUNNING)),
    'running',
  );
  await until(() => cache.serviceName('web') === 'web');
  t.deepEqual(ids(await cache.lookup('web')), ['r1', 't1', 't2']);
  return { d, fx, exec, cache };
}

test('local fast path: a killed container of this host leaves the answers at once, and stays out of stale answers', async (t) => {
  const { d, fx, cache } = await agentWithDiscovery(t);
  const start = Date.now();
  fx.exit('t1', 137);
  await until(() => !ids(cache.get('web')).includes('t1'), 't1 dropped');
  measured(t, 'discovery local fast path (container exit -> endpoint dropped)', Date.now() - start);
  t.deepEqual(ids(cache.get('web')), ['r1', 't2'], 'before the manager said anything');
  // A manager answer from before it saw the exit still lists t1: it stays out.
  d.setService({
    name: 'web',
    endpoints: [
      ep('t1', '10.42.1.2'),
      ep('t2', '10.42.1.3'),
      ep('r1', '10.42.2.2'),
      ep('r2', '10.42.2.3'),
    ] as Endpoint[],
  });
  await until(() => ids(cache.get('web')).includes('r2'));
  t.deepEqual(ids(cache.get('web')), ['r1', 'r2', 't2']);
});

test('local fast path: a task told to stop leaves the answers before its container is stopped', async (t) => {
  const { d, exec, cache } = await agentWithDiscovery(t);
  let open!: () => void;
  exec.gate = new Promise((resolve) => (open = resolve));
  d.push('node1', {
    kind: AssignmentsMessage_Kind.INCREMENTAL,
    tasks: [withDesired(makeTask('t2', { slot: 2 }), TaskState.SHUTDOWN, TaskState.RUNNING)],
    removedTaskIds: [],
  });
  await until(() => !ids(cache.get('web')).includes('t2'), 't2 dropped');
  t.false(
    d.updates.some((u) => u.taskId === 't2' && u.status?.state === TaskState.SHUTDOWN),
    'its container is still being stopped',
  );
  open();
  await until(() => d.updates.some((u) => u.taskId === 't2' && u.status?.state === TaskState.SHUTDOWN));
  t.deepEqual(ids(cache.get('web')), ['r1', 't1']);
});

test('local tasks: asker networks by source address (own task, else the lease, else loopback = all)', (t) => {
  const tasks = new LocalTasks();
  const askers = new HostAskers({
    tasks,
    leases: () => [
      { name: 'front', subnet: '10.42.1.0/24' },
      { name: 'back', subnet: '10.43.1.0/24' },
    ],
  });
  tasks.status('t1', 'web', {
    state: TaskState.RUNNING,
    message: '',
    err: '',
    containerId: 'c',
    exitCode: 0,
    timestampMs: 0,
    addresses: [
      { network: 'front', ip: '10.42.1.5' },
      { network: 'back', ip: '10.43.1.5' },
    ],
  });
  t.deepEqual(
    [...(askers.networksOf('10.42.1.5') as Set<string>)].sort(),
    ['back', 'front'],
    'own task: all its networks',
  );
  t.deepEqual([...(askers.networksOf('::ffff:10.42.1.5') as Set<string>)].sort(), ['back', 'front']);
  t.deepEqual([...(askers.networksOf('10.42.1.77') as Set<string>)], ['front'], 'by the lease');
  t.deepEqual([...(askers.networksOf('10.43.1.77') as Set<string>)], ['back']);
  t.is(askers.networksOf('127.0.0.1'), 'all');
  t.deepEqual([...(askers.networksOf('192.168.9.9') as Set<string>)], []);
  tasks.status('t1', 'web', {
    state: TaskState.FAILED,
    message: '',
    err: '',
    containerId: 'c',
    exitCode: 1,
    timestampMs: 0,
    addresses: [],
  });
  t.deepEqual([...(askers.networksOf('10.42.1.5') as Set<string>)], ['front'], 'gone: only the lease is left');
});

/** One UDP query from 127.0.0.1. */
function dig(port: number, name: string): Promise<DecodedPacket & { rcode?: string }> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const timer = setTimeout(() => reject(new Error('no answer')), 3_000);
    s.on('message', (m) => {
      clearTimeout(timer);
      s.close();
      resolve(dnsPacket.decode(m));
    });
    s.send(dnsPacket.encode({ type: 'query', id: 9, questions: [{ name, type: 'A' }] }), port, '127.0.0.1');
  });
}

test('DNS on the real cache: the first query of a service waits for its watch; no stream -> SERVFAIL, not NXDOMAIN', async (t) => {
  const d = await dispatcher(t);
  d.setService({ name: 'web', endpoints: [ep('t1', '10.42.1.2'), ep('t2', '10.42.2.2')] as Endpoint[] });
  const { cache, stop } = await follow(t, d);
  const dns = new DnsServer({ source: cache, askers: { networksOf: () => 'all' }, upstreams: [] });
  t.teardown(() => dns.close());
  await dns.setListen([{ host: '127.0.0.1', port: 0 }]);
  const port = dns.addresses()[0]?.port ?? 0;
  await until(() => cache.serviceName('web') === 'web');
  const start = Date.now();
  const r = await dig(port, 'tasks.web');
  measured(t, 'dns first query of a service (watch + answer)', Date.now() - start);
  t.deepEqual((r.answers ?? []).map((a) => (a as { data: string }).data).sort(), ['10.42.1.2', '10.42.2.2']);
  t.is((await dig(port, 'nosuch')).rcode, 'NXDOMAIN');
  stop(); // the manager is gone: cached names still answer, others cannot be known
  t.is((await dig(port, 'web')).answers?.length, 2);
  d.setService({ name: 'db' });
  const fresh = new EndpointCache({ watchWaitMs: 100 });
  t.teardown(() => fresh.close());
  const lonely = new DnsServer({ source: fresh, askers: { networksOf: () => 'all' }, upstreams: [] });
  t.teardown(() => lonely.close());
  await lonely.setListen([{ host: '127.0.0.1', port: 0 }]);
  t.is((await dig(lonely.addresses()[0]?.port ?? 0, 'web')).rcode, 'SERVFAIL', 'never reached the manager');
});

test('names nobody asked for in 10 minutes are unwatched (ingress services stay cached)', (t) => {
  let now = 1_000_000;
  const cache = new EndpointCache({ now: () => now });
  t.teardown(() => cache.close());
  const sent: Array<{ watch: string[]; unwatch: string[] }> = [];
  const send = (req: { watch: string[]; unwatch: string[] }) => void sent.push(req);
  t.deepEqual(cache.attach(send), []);
  const edge = {
    name: 'edge',
    exists: true,
    networks: [],
    ports: [PortConfig.fromPartial({ targetPort: 80, publishedPort: 8080 })],
    endpoints: [],
    index: 1,
  };
  const web = { name: 'web', exists: true, networks: [], ports: [], endpoints: [], index: 1 };
  cache.apply({ services: [edge, web], hasServiceNames: true, serviceNames: ['edge', 'web'] }, send);
  void cache.lookup('web');
  void cache.lookup('edge');
  t.deepEqual(sent, [
    { watch: ['web'], unwatch: [] },
    { watch: ['edge'], unwatch: [] },
  ]);
  now += 9 * 60_000;
  void cache.lookup('web');
  now += 2 * 60_000;
  cache.sweepIdle();
  t.deepEqual(sent.at(-1), { watch: [], unwatch: ['edge'] });
  t.deepEqual(cache.watchedNames(), ['web']);
  t.truthy(cache.get('edge'), 'an ingress service is still needed by the routing mesh');
  now += 10 * 60_000;
  cache.sweepIdle();
  t.deepEqual(sent.at(-1), { watch: [], unwatch: ['web'] });
  t.is(cache.get('web'), undefined);
  t.deepEqual(cache.attach(send), [], 'a new stream watches nothing stale');
});
