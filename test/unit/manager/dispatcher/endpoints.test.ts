// The Dispatcher's Endpoints stream over a real grpc-js server, fed by the registry and
// the catalog on a memory store: first message (names + subscribed services), pushes to
// subscribers only, watch/unwatch, ingress services sent unasked, names on change.
import test from 'ava';
import { Server, ServerCredentials, credentials, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import type { EndpointsMessage, EndpointsRequest, NodeDescription, PortConfig } from '../../../../proto/gen/shoal.js';
import { DispatcherClient, DispatcherService, NodeStatus, PublishMode } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { Dispatcher } from '../../../../manager/dispatcher/dispatcher.js';
import { EndpointCatalog } from '../../../../manager/discovery/catalog.js';
import { EndpointRegistry } from '../../../../manager/discovery/registry.js';
import { until } from '../../../helpers/until.js';
import { Core, makeSpec } from '../../../helpers/fixtures.js';

const TOKEN = 'SHOAL-test-token';
const INGRESS_8080: PortConfig[] = [
  { protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS },
];
const HOST_9090: PortConfig[] = [
  { protocol: 'tcp', targetPort: 80, publishedPort: 9090, publishMode: PublishMode.HOST },
];

function describe(hostname: string): NodeDescription {
  return {
    hostname,
    resources: { nanoCpus: 2e9, memoryBytes: 4 * 1024 ** 3 },
    labels: {},
    engineVersion: '20.10',
    os: 'linux',
    arch: 'x86_64',
    address: '',
  };
}

/** The names sync() watches (no service has one). */
const SYNC = '.sync-';

async function setup() {
  const core = new Core();
  const catalog = new EndpointCatalog(core.store);
  catalog.start();
  const registry = new EndpointRegistry(core.state, core.writer, core.store, { keepAliveMs: 1000 });
  await registry.start();
  const dispatcher = new Dispatcher(core.state, { joinToken: TOKEN, heartbeatPeriodMs: 1000, endpoints: catalog });
  const server = new Server();
  server.addService(DispatcherService, dispatcher.implementation());
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  dispatcher.start();
  const client = new DispatcherClient(`127.0.0.1:${port}`, credentials.createInsecure());
  const register = (hostname: string, nodeId = '') =>
    new Promise<{ nodeId: string; sessionId: string }>((res, rej) =>
      client.register({ joinToken: TOKEN, nodeId, description: describe(hostname) }, (e, r) => (e ? rej(e) : res(r))),
    );
  const streams: ClientDuplexStream<EndpointsRequest, EndpointsMessage>[] = [];
  const open = (session: { nodeId: string; sessionId: string }, watch: string[] = []) => {
    const call = client.endpoints();
    streams.push(call);
    const got: EndpointsMessage[] = [];
    const errors: ServiceError[] = [];
    let syncs = 0;
    const of = (name: string) => got.flatMap((m) => m.services.filter((x) => x.name === name));
    call.on('data', (m: EndpointsMessage) => got.push(m));
    call.on('error', (e: ServiceError) => errors.push(e));
    call.write({ nodeId: session.nodeId, sessionId: session.sessionId, watch, unwatch: [] });
    return {
      call,
      got,
      errors,
      watch: (...names: string[]) => call.write({ nodeId: '', sessionId: '', watch: names, unwatch: [] }),
      unwatch: (...names: string[]) => call.write({ nodeId: '', sessionId: '', watch: [], unwatch: names }),
      /** Every ServiceEndpoints received for `name`, in order. */
      of,
      /** Messages other than the answers to sync(). */
      messages: () => got.filter((m) => !m.services.some((x) => x.name.startsWith(SYNC))),
      /**
       * Watches a name no service has and waits for its answer: the stream keeps order, so
       * every request before it was handled and every message queued before it has arrived.
       */
      sync: async () => {
        const name = `${SYNC}${++syncs}`;
        call.write({ nodeId: '', sessionId: '', watch: [name], unwatch: [] });
        await until(() => of(name).length > 0, `the answer to ${name}`);
      },
    };
  };
  const runAll = (serviceName: string) => {
    core.settle();
    core.live(serviceName).forEach((x, i) => {
      if (x.status?.state !== TaskState.RUNNING)
        core.report(x.id, TaskState.RUNNING, { addresses: [{ network: 'shoal', ip: `10.42.${x.slot}.${i + 2}` }] });
    });
  };
  const close = async () => {
    for (const s of streams) s.cancel();
    client.close();
    await dispatcher.close();
    await registry.close();
    await catalog.close();
    server.forceShutdown();
    await core.close();
  };
  return { core, catalog, dispatcher, register, open, runAll, close };
}

test('an unknown session is refused', async (t) => {
  const { open, close } = await setup();
  const s = open({ nodeId: 'nope', sessionId: 'nope' }, ['web']);
  await until(() => s.errors.length > 0);
  t.regex(s.errors[0]!.details, /unknown session/);
  await close();
});

test('first message: every name and each watched service; then pushes for watched names only', async (t) => {
  const { core, catalog, register, open, runAll, close } = await setup();
  const session = await register('host1');
  await core.api.createService({ spec: makeSpec('web', { replicas: 2 }) });
  await core.api.createService({ spec: makeSpec('api', { replicas: 1 }) });
  await until(() => catalog.serviceNames().length === 2, 'both services in the catalog');
  const s = open(session, ['web', 'nosuch']);
  await until(() => s.got.length >= 1);
  const first = s.got[0]!;
  t.true(first.hasServiceNames);
  t.deepEqual(first.serviceNames, ['api', 'web']);
  t.deepEqual(first.services.map((x) => x.name).sort(), ['nosuch', 'web']);
  t.false(first.services.find((x) => x.name === 'nosuch')!.exists, 'an unknown name is answered (NXDOMAIN)');
  t.deepEqual(s.of('web')[0]!.endpoints, []);
  t.true(s.of('web')[0]!.index >= 1);

  runAll('web');
  await until(() => (s.of('web').at(-1)?.endpoints.length ?? 0) === 2, 'web pushed with 2 endpoints');
  const last = s.of('web').at(-1)!;
  t.deepEqual(last.networks, ['shoal']);
  t.true(last.endpoints.every((e) => e.addresses[0]!.network === 'shoal'));
  t.true(
    s.got.slice(1).every((m) => !m.hasServiceNames),
    'names only when they change',
  );

  // api changes: this stream did not ask for it.
  const count = s.messages().length;
  runAll('api');
  await until(() => catalog.lookup('api').endpoints.length === 1, "api's endpoint in the catalog");
  await s.sync();
  t.is(s.messages().length, count);
  t.deepEqual(s.of('api'), []);

  // Asking for api later answers at once.
  s.watch('api');
  await until(() => s.of('api').length === 1);
  t.is(s.of('api')[0]!.endpoints.length, 1);
  // Asked again (the agent dropped its copy): answered again.
  s.watch('api');
  await until(() => s.of('api').length === 2, 'a repeated watch answered');

  // Unwatched: no more pushes for web.
  s.unwatch('web');
  await s.sync();
  const webCount = s.of('web').length;
  await core.api.scaleService({ ref: 'web', replicas: 3 });
  runAll('web');
  await until(() => catalog.lookup('web').endpoints.length === 3, "web's third endpoint in the catalog");
  await s.sync();
  t.is(s.of('web').length, webCount);
  await close();
});

test('a new or removed service sends the names to every stream', async (t) => {
  const { core, register, open, close } = await setup();
  const a = open(await register('host1'));
  const b = open(await register('host2'), ['web']);
  await until(() => a.got.length === 1 && b.got.length === 1);
  t.deepEqual(a.got[0]!.serviceNames, []);
  await core.api.createService({ spec: makeSpec('web', { replicas: 1 }) });
  await until(() => a.got.length === 2 && b.got.length >= 2);
  t.true(a.got[1]!.hasServiceNames);
  t.deepEqual(a.got[1]!.serviceNames, ['web']);
  t.deepEqual(a.got[1]!.services, [], 'a did not watch web');
  t.true(b.got.some((m) => m.hasServiceNames && m.serviceNames.includes('web')));
  t.true(b.of('web').at(-1)!.exists);
  await core.api.removeService({ ref: 'web' });
  await until(() => a.got.at(-1)!.hasServiceNames && a.got.at(-1)!.serviceNames.length === 0);
  await until(() => b.of('web').at(-1)?.exists === false);
  t.pass();
  await close();
});

test('services with ingress-published ports go to every stream without asking; host-mode ones do not', async (t) => {
  const { core, catalog, register, open, runAll, close } = await setup();
  await core.api.createService({ spec: makeSpec('edge', { replicas: 1, ports: INGRESS_8080 }) });
  await core.api.createService({ spec: makeSpec('local', { replicas: 1, ports: HOST_9090 }) });
  const s1 = await register('host1');
  const s2 = await register('host2');
  await until(() => catalog.serviceNames().length === 2, 'both services in the catalog');
  const a = open(s1);
  await until(() => a.got.length === 1);
  t.deepEqual(
    a.got[0]!.services.map((x) => x.name),
    ['edge'],
  );
  t.is(a.of('edge')[0]!.ports[0]!.publishedPort, 8080);

  runAll('edge');
  runAll('local');
  await until(() => (a.of('edge').at(-1)?.endpoints.length ?? 0) === 1, 'edge pushed');
  await until(() => catalog.lookup('local').endpoints.length === 1, "local's endpoint in the catalog");
  await a.sync();
  t.deepEqual(a.of('local'), []);

  // A service that publishes later joins every stream then.
  const b = open(s2);
  await until(() => b.got.length === 1);
  await core.api.createService({
    spec: makeSpec('late', { replicas: 1, ports: [{ ...INGRESS_8080[0]!, publishedPort: 8081 }] }),
  });
  await until(() => a.of('late').length >= 1 && b.of('late').length >= 1, 'late sent to both');
  // Removed: both hear it is gone (then nothing more).
  await core.api.removeService({ ref: 'late' });
  await until(() => a.of('late').at(-1)?.exists === false && b.of('late').at(-1)?.exists === false);
  t.pass();
  await close();
});

test('changes of one tick go out in one message, a name once', async (t) => {
  const { core, catalog, register, open, close } = await setup();
  const session = await register('host1');
  await core.api.createService({ spec: makeSpec('web', { replicas: 3 }) });
  core.settle();
  await until(() => catalog.lookup('web').exists, 'web in the catalog');
  const s = open(session, ['web']);
  await until(() => s.got.length === 1);
  const tasks = core.live('web');
  // Three endpoint writes in separate transactions, delivered together.
  for (const [i, x] of tasks.entries()) {
    core.report(x.id, TaskState.RUNNING, { addresses: [{ network: 'shoal', ip: `10.42.0.${i + 2}` }] });
    await core.writer.sync();
  }
  await until(() => (s.of('web').at(-1)?.endpoints.length ?? 0) === 3);
  for (const m of s.got) t.true(m.services.filter((x) => x.name === 'web').length <= 1);
  t.true(s.got.length <= 4);
  await close();
});

test('a node that goes down leaves every subscriber within one push', async (t) => {
  const { core, register, open, runAll, close } = await setup();
  const s1 = await register('host1');
  const s2 = await register('host2');
  await core.api.createService({ spec: makeSpec('web', { replicas: 4 }) });
  runAll('web');
  const a = open(s2, ['web']);
  await until(() => (a.of('web').at(-1)?.endpoints.length ?? 0) === 4, 'four endpoints');
  const node = core.state.nodes.get(s1.nodeId)!;
  core.state.putNode({ ...node, status: NodeStatus.DOWN });
  await until(
    () => (a.of('web').at(-1)?.endpoints ?? []).every((e) => e.nodeId !== s1.nodeId),
    "host1's endpoints gone",
  );
  t.is(a.of('web').at(-1)!.endpoints.length, 2);
  await close();
});

test('a re-registered agent gets a new stream; the old one is ended', async (t) => {
  const { register, open, dispatcher, close } = await setup();
  const session = await register('host1');
  const first = open(session, ['web']);
  let ended = false;
  first.call.on('end', () => (ended = true));
  first.call.on('status', () => (ended = true));
  await until(() => first.got.length === 1);
  t.is(dispatcher.endpointStreamCount(), 1);
  const again = await register('host1', session.nodeId); // the agent restarted
  await until(() => ended, 'old stream ended');
  t.is(dispatcher.endpointStreamCount(), 0);
  const second = open(again, ['web']);
  await until(() => second.got.length === 1);
  t.is(dispatcher.endpointStreamCount(), 1);
  await close();
});
