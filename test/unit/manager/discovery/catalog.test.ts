// The endpoint catalog over a fake change source (the memory store: revisions, a watch
// with history, compaction): what lookup answers, index and blocking-query semantics,
// change and endpoint events, reload after the watch is cancelled.
import test from 'ava';
import {
  Endpoint,
  PublishMode,
  Service,
  type ServiceEndpoints,
  type ServiceSpec,
} from '../../../../proto/gen/shoal.js';
import { EndpointCatalog, type EndpointEvent } from '../../../../manager/discovery/catalog.js';
import { MemoryStore } from '../../../../manager/store/memory-store.js';
import { encode } from '../../../../manager/store/codec.js';
import { endpointId } from '../../../../manager/store/keys.js';
import { makeSpec } from '../../../helpers/fixtures.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { turns, until } from '../../../helpers/until.js';
import { hasIngressPorts } from '../../../../manager/dispatcher/endpoints.js';

function service(id: string, spec: Partial<ServiceSpec> & { name: string }): string {
  const s: Service = {
    id,
    spec: makeSpec(spec.name, spec),
    specVersion: 1,
    createdAtMs: 0,
    updatedAtMs: 0,
    updateStatus: undefined,
    previousVersions: [],
    hasRegistryAuth: false,
  };
  return encode('services', s);
}

function endpoint(serviceName: string, taskId: string, ip: string, extra: Partial<Endpoint> = {}): string {
  const e: Endpoint = {
    serviceId: `s-${serviceName}`,
    serviceName,
    taskId,
    slot: 1,
    nodeId: 'n1',
    nodeName: 'host1',
    nodeAddress: '10.0.0.11',
    addresses: [{ network: 'shoal', ip }],
    ports: [],
    healthChecked: false,
    registeredAtMs: 1,
    ...extra,
  };
  return JSON.stringify(Endpoint.toJSON(e));
}

async function setup() {
  const store = new MemoryStore();
  const put = (kind: 'services' | 'endpoints' | 'networks', id: string, value: string) =>
    store.commit([{ kind, id, value }]);
  const del = (kind: 'services' | 'endpoints', id: string) => store.commit([{ kind, id }]);
  const clock = new ManualClock(); // blocking queries time out only when the test moves it
  const catalog = new EndpointCatalog(store, { reloadRetryMs: 10, clock });
  const changes: string[] = [];
  catalog.onChange((n) => changes.push(n));
  const events: EndpointEvent[] = [];
  catalog.onEndpoint((e) => events.push(e));
  /** Resolves once the catalog has applied every commit so far (the watch delivers them later). */
  const caughtUp = () => until(() => catalog.index === store.revision, 'the catalog caught up');
  return { store, put, del, catalog, changes, events, clock, caughtUp };
}

test('loads services and endpoints; lookup answers per name, unknown names do not exist; index is never 0', async (t) => {
  const { store, put, catalog } = await setup();
  t.false(catalog.loaded);
  t.is(catalog.lookup('web').index, 1, 'never 0, even before the load');
  await put(
    'services',
    's-web',
    service('s-web', {
      name: 'web',
      ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }],
    }),
  );
  await put('services', 's-api', service('s-api', { name: 'api', networks: ['backend'] }));
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  await put('endpoints', endpointId('web', 't2'), endpoint('web', 't2', '10.42.1.5'));
  catalog.start();
  await catalog.whenLoaded();
  t.true(catalog.loaded);
  const web = catalog.lookup('web');
  t.true(web.exists);
  t.deepEqual(web.networks, ['shoal'], 'no networks in the spec: the default network');
  t.is(web.ports[0]!.publishedPort, 8080);
  t.deepEqual(web.endpoints.map((e) => e.taskId).sort(), ['t1', 't2']);
  t.is(web.index, 4, "the revision of web's last change");
  const api = catalog.lookup('api');
  t.true(api.exists);
  t.deepEqual(api.networks, ['backend']);
  t.deepEqual(api.endpoints, []);
  t.is(api.index, 2);
  const nope = catalog.lookup('nope');
  t.false(nope.exists);
  t.true(nope.index >= 1);
  t.deepEqual(catalog.serviceNames(), ['api', 'web']);
  t.is(catalog.index, store.revision);
  await catalog.close();
});

test('changes apply with their revision; deletes with the delete revision; a scale is no change; onChange once per name and batch', async (t) => {
  const { store, put, del, catalog, changes, caughtUp } = await setup();
  await put('services', 's-web', service('s-web', { name: 'web' }));
  catalog.start();
  await catalog.whenLoaded();
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  await until(() => catalog.lookup('web').endpoints.length === 1);
  t.is(catalog.lookup('web').index, store.revision);
  t.deepEqual(changes, ['web']);

  // One transaction, two endpoints: one change.
  await store.commit([
    { kind: 'endpoints', id: endpointId('web', 't2'), value: endpoint('web', 't2', '10.42.0.6') },
    { kind: 'endpoints', id: endpointId('web', 't3'), value: endpoint('web', 't3', '10.42.0.7') },
  ]);
  await until(() => catalog.lookup('web').endpoints.length === 3);
  t.deepEqual(changes, ['web', 'web']);

  await del('endpoints', endpointId('web', 't1'));
  await until(() => catalog.lookup('web').endpoints.length === 2);
  t.is(catalog.lookup('web').index, store.revision, 'a delete moves the index to its revision');

  const before = catalog.lookup('web').index;
  await put('services', 's-web', service('s-web', { name: 'web', replicas: 7 }));
  await caughtUp();
  t.is(catalog.lookup('web').index, before, 'replicas are not what discovery shows');
  t.is(changes.length, 3);
  t.is(catalog.index, store.revision, 'the catalog index still moves');

  // The same endpoint put again (a new leader's lease): no change.
  await put('endpoints', endpointId('web', 't2'), endpoint('web', 't2', '10.42.0.6'));
  await caughtUp();
  t.is(changes.length, 3);

  await del('services', 's-web');
  await until(() => !catalog.lookup('web').exists);
  t.deepEqual(catalog.serviceNames(), []);
  t.true(catalog.lookup('web').index > before);
  await catalog.close();
});

test('blocking queries: index 0 or older answers at once, the current index waits for a change or the timeout', async (t) => {
  const { put, catalog, clock } = await setup();
  await put('services', 's-web', service('s-web', { name: 'web' }));
  catalog.start();
  await catalog.whenLoaded();
  const cur = catalog.lookup('web').index;
  t.is((await catalog.waitFor('web', 0, 10_000)).index, cur);
  t.is((await catalog.waitFor('web', cur - 1, 10_000)).index, cur);
  t.deepEqual(clock.requested, [], 'an answer at once sets no timeout');

  // The current index: nothing changes, the timeout (the one asked for) ends the wait.
  let timedOut: ServiceEndpoints | undefined;
  void catalog.waitFor('web', cur, 60).then((r) => (timedOut = r));
  t.deepEqual(clock.requested, [60], 'waits the time asked for');
  await turns();
  t.is(timedOut, undefined, 'still waiting before its timeout');
  clock.advance(60);
  await until(() => timedOut !== undefined, 'answered at its timeout');
  t.is(timedOut!.index, cur, 'unchanged');

  // A change of the name ends its wait; another name's wait goes on.
  const waiting = catalog.waitFor('web', cur, 10_000);
  let other: ServiceEndpoints | undefined;
  void catalog.waitFor('api', catalog.lookup('api').index, 80).then((r) => (other = r));
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  const woke = await waiting; // its 10 s timeout never fires here: only the change can end it
  t.true(woke.index > cur);
  t.is(woke.endpoints.length, 1);
  await turns();
  t.is(other, undefined, 'another name is not woken by web');
  clock.advance(80);
  await until(() => other !== undefined, 'the other wait answered at its timeout');
  t.false(other!.exists);

  // Names: created/removed services wake waitForNames; endpoint changes do not.
  const names = await catalog.waitForNames(0, 1000);
  t.deepEqual(names.names, ['web']);
  t.true(names.index >= 1);
  let next: { index: number; names: string[] } | undefined;
  void catalog.waitForNames(names.index, 10_000).then((r) => (next = r));
  await put('endpoints', endpointId('web', 't2'), endpoint('web', 't2', '10.42.0.6'));
  await until(() => catalog.lookup('web').endpoints.length === 2, 'the endpoint applied');
  t.is(next, undefined, 'an endpoint change does not wake a names wait');
  await put('services', 's-api', service('s-api', { name: 'api' }));
  await until(() => next !== undefined, 'woken by the new name');
  t.deepEqual(next!.names, ['api', 'web']);
  t.true(next!.index > names.index);
  const unchanged = catalog.waitForNames(next!.index, 30);
  clock.advance(30);
  t.deepEqual((await unchanged).names, ['api', 'web']);
  await catalog.close();
});

test('endpoint events: registered for a new key, deregistered for a deleted one, nothing for a re-put', async (t) => {
  const { put, del, catalog, events, caughtUp } = await setup();
  await put('endpoints', endpointId('web', 't0'), endpoint('web', 't0', '10.42.0.4'));
  catalog.start();
  await catalog.whenLoaded();
  t.deepEqual(events, [], 'what the load finds is not an event');
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  await del('endpoints', endpointId('web', 't0'));
  await until(() => events.length === 2);
  await caughtUp();
  t.deepEqual(
    events.map((e) => `${e.type} ${e.endpoint.taskId}`),
    ['registered t1', 'deregistered t0'],
  );
  t.is(events[1]!.endpoint.addresses[0]!.ip, '10.42.0.4', 'a deregistration says what went');
  await catalog.close();
});

test('the default network is named by the networks kind', async (t) => {
  const { put, catalog } = await setup();
  await put(
    'networks',
    'n1',
    encode('networks', {
      id: 'n1',
      spec: { name: 'overlay0', subnet: '10.42.0.0/16', labels: {} },
      vni: 4096,
      hostPrefixLen: 24,
      isDefault: true,
      createdAtMs: 0,
    }),
  );
  await put('services', 's-web', service('s-web', { name: 'web' }));
  catalog.start();
  await catalog.whenLoaded();
  t.deepEqual(catalog.lookup('web').networks, ['overlay0']);
  await catalog.close();
});

test('a cancelled watch (compaction) reloads; names that changed meanwhile are reported and move forward', async (t) => {
  const { store, put, del, catalog, changes, events } = await setup();
  await put('services', 's-web', service('s-web', { name: 'web' }));
  await put('services', 's-db', service('s-db', { name: 'db' }));
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  catalog.start();
  await catalog.whenLoaded();
  const webBefore = catalog.lookup('web').index;
  const dbBefore = catalog.lookup('db').index;
  const waiting = catalog.waitFor('web', webBefore, 10_000);
  // The watch dies; what happens before the reload is seen only by the reload.
  store.compactAndCancelWatches();
  await del('endpoints', endpointId('web', 't1'));
  await put('endpoints', endpointId('web', 't2'), endpoint('web', 't2', '10.42.0.9'));
  const woke = await waiting;
  t.deepEqual(
    woke.endpoints.map((e) => e.taskId),
    ['t2'],
  );
  t.true(woke.index > webBefore);
  t.is(catalog.lookup('db').index, dbBefore, 'unchanged names keep their index');
  t.true(changes.includes('web'));
  t.false(changes.includes('db'));
  t.deepEqual(events.map((e) => `${e.type} ${e.endpoint.taskId}`).sort(), ['deregistered t1', 'registered t2']);
  // ... and it follows again.
  await put('endpoints', endpointId('web', 't3'), endpoint('web', 't3', '10.42.0.10'));
  await until(() => catalog.lookup('web').endpoints.length === 2);
  t.pass();
  await catalog.close();
});

test('close answers pending blocking queries', async (t) => {
  const { put, catalog } = await setup();
  await put('services', 's-web', service('s-web', { name: 'web' }));
  catalog.start();
  await catalog.whenLoaded();
  const p = catalog.waitFor('web', catalog.lookup('web').index, 60_000);
  const n = catalog.waitForNames(catalog.waitForNames.length + 1e9, 60_000);
  await catalog.close();
  t.true((await p).exists);
  t.deepEqual((await n).names, ['web']);
});

test('publishesIngress answers as hasIngressPorts(lookup) does, without building the endpoint list', async (t) => {
  const { put, catalog } = await setup();
  await put(
    'services',
    's-web',
    service('s-web', {
      name: 'web',
      ports: [{ protocol: 'tcp', targetPort: 80, publishedPort: 8080, publishMode: PublishMode.INGRESS }],
    }),
  );
  await put(
    'services',
    's-db',
    service('s-db', {
      name: 'db',
      ports: [{ protocol: 'tcp', targetPort: 5432, publishedPort: 5432, publishMode: PublishMode.HOST }],
    }),
  );
  await put('services', 's-api', service('s-api', { name: 'api' }));
  await put('endpoints', endpointId('web', 't1'), endpoint('web', 't1', '10.42.0.5'));
  catalog.start();
  await catalog.whenLoaded();
  for (const name of ['web', 'db', 'api', 'nope'])
    t.is(catalog.publishesIngress(name), hasIngressPorts(catalog.lookup(name)), name);
  t.true(catalog.publishesIngress('web'));
  t.false(catalog.publishesIngress('db'));
  await catalog.close();
});
