// ServiceSpec.network_aliases in the endpoint catalog: an alias of service S on network N
// answers with S's endpoints on N only, is one of the cluster's names, follows S's changes
// (watchers woken, index moving on), and goes when S goes. A service of that name wins.
import test from 'ava';
import { Endpoint, PublishMode, Service, type ServiceSpec } from '../../../../proto/gen/shoal.js';
import { EndpointCatalog } from '../../../../manager/discovery/catalog.js';
import { MemoryStore } from '../../../../manager/store/memory-store.js';
import { encode } from '../../../../manager/store/codec.js';
import { endpointId } from '../../../../manager/store/keys.js';
import { makeSpec } from '../../../helpers/fixtures.js';
import { ManualClock } from '../../../helpers/manual-clock.js';
import { until } from '../../../helpers/until.js';
import { targets } from '../../../../agent/discovery/dns-answer.js';

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

function endpoint(serviceName: string, taskId: string, addresses: Array<[string, string]>): string {
  const e: Endpoint = {
    serviceId: `s-${serviceName}`,
    serviceName,
    taskId,
    slot: 1,
    nodeId: 'n1',
    nodeName: 'host1',
    nodeAddress: '10.0.0.11',
    addresses: addresses.map(([network, ip]) => ({ network, ip })),
    ports: [],
    healthChecked: false,
    registeredAtMs: 1,
  };
  return JSON.stringify(Endpoint.toJSON(e));
}

async function setup() {
  const store = new MemoryStore();
  const put = (kind: 'services' | 'endpoints', id: string, value: string) => store.commit([{ kind, id, value }]);
  const del = (kind: 'services' | 'endpoints', id: string) => store.commit([{ kind, id }]);
  const catalog = new EndpointCatalog(store, { reloadRetryMs: 10, clock: new ManualClock() });
  const changes: string[] = [];
  catalog.onChange((n) => changes.push(n));
  const caughtUp = () => until(() => catalog.index === store.revision, 'the catalog caught up');
  return { store, put, del, catalog, changes, caughtUp };
}

const DB = {
  name: 'app-db',
  networks: ['app-back', 'app-front'],
  networkAliases: [
    { network: 'app-back', aliases: ['db', 'database'] },
    { network: 'app-front', aliases: ['db'] },
  ],
  ports: [{ protocol: 'tcp', targetPort: 5432, publishedPort: 5432, publishMode: PublishMode.INGRESS }],
};

test('an alias answers with its service endpoints on the alias networks; the names list it', async (t) => {
  const { put, catalog } = await setup();
  await put('services', 's-db', service('s-db', DB));
  await put(
    'services',
    's-other',
    service('s-other', { name: 'other', networks: ['x'], networkAliases: [{ network: 'x', aliases: ['database'] }] }),
  );
  await put(
    'endpoints',
    endpointId('app-db', 't1'),
    endpoint('app-db', 't1', [
      ['app-back', '10.50.0.2'],
      ['app-front', '10.51.0.2'],
    ]),
  );
  await put('endpoints', endpointId('other', 't9'), endpoint('other', 't9', [['x', '10.60.0.9']]));
  catalog.start();
  await catalog.whenLoaded();
  t.deepEqual(catalog.serviceNames(), ['app-db', 'database', 'db', 'other']);
  const db = catalog.lookup('db');
  t.true(db.exists);
  t.deepEqual(db.networks, ['app-back', 'app-front']);
  t.deepEqual(
    db.endpoints.map((e) => e.taskId),
    ['t1'],
  );
  t.is(db.ports[0]?.targetPort, 5432);
  t.is(db.ports[0]?.publishedPort, 0, 'an alias never publishes on the routing mesh');
  t.false(catalog.publishesIngress('db'));

  // `database` is an alias of app-db on app-back and of other on x: each asker sees its own.
  const database = catalog.lookup('database');
  t.deepEqual(database.networks, ['app-back', 'x']);
  t.deepEqual(targets(database, new Set(['app-back'])), [{ taskId: 't1', ip: '10.50.0.2' }]);
  t.deepEqual(targets(database, new Set(['x'])), [{ taskId: 't9', ip: '10.60.0.9' }]);
  t.is(targets(database, new Set(['app-front'])), undefined, 'not an alias on app-front: NXDOMAIN');
  t.deepEqual(targets(catalog.lookup('db'), new Set(['app-front'])), [{ taskId: 't1', ip: '10.51.0.2' }]);
  await catalog.close();
});

test("an alias follows its service: new endpoints wake it, the service's removal ends it", async (t) => {
  const { put, del, catalog, changes, caughtUp } = await setup();
  catalog.start();
  await catalog.whenLoaded();
  await put('services', 's-db', service('s-db', DB));
  await until(() => changes.includes('db'), 'a new alias is a change of that name');
  const before = catalog.lookup('db');
  t.deepEqual(before.endpoints, []);
  changes.length = 0;
  const waiting = catalog.waitFor('db', before.index, 60_000);
  await put('endpoints', endpointId('app-db', 't1'), endpoint('app-db', 't1', [['app-back', '10.50.0.2']]));
  const after = await waiting;
  t.deepEqual(
    after.endpoints.map((e) => e.taskId),
    ['t1'],
  );
  t.true(after.index > before.index);
  t.deepEqual([...changes].sort(), ['app-db', 'database', 'db']);

  changes.length = 0;
  await del('services', 's-db');
  await caughtUp();
  t.true(changes.includes('db'));
  const gone = catalog.lookup('db');
  t.false(gone.exists);
  t.true(gone.index > after.index);
  t.deepEqual(catalog.serviceNames(), []);
  await catalog.close();
});

test('a service of the same name wins over an alias', async (t) => {
  const { put, catalog } = await setup();
  await put('services', 's-db', service('s-db', DB));
  await put('services', 's-real', service('s-real', { name: 'db', networks: ['app-back'] }));
  catalog.start();
  await catalog.whenLoaded();
  const db = catalog.lookup('db');
  t.true(db.exists);
  t.deepEqual(db.networks, ['app-back']);
  t.is(db.ports.length, 0, "the real db's answer, not app-db's");
  t.deepEqual(catalog.serviceNames(), ['app-db', 'database', 'db']);
  await catalog.close();
});
