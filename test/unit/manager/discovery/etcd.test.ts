// Registry and catalog against a real etcd (started here on a free loopback port): keys
// bound to per-node leases, one keepalive stream keeping them past their TTL, a revoke on
// node down deleting a node's endpoints at once, a deposed leader's keys expiring by
// themselves, and the catalog following all of it with etcd's revisions.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { NodeStatus, type Task } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { EndpointCatalog } from '../../../../manager/discovery/catalog.js';
import { EndpointRegistry } from '../../../../manager/discovery/registry.js';
import { endpointKey } from '../../../../manager/discovery/view.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { EtcdStore } from '../../../../manager/store/etcd-store.js';
import { Writer } from '../../../../manager/store/writer.js';
import { makeNode, makeSpec } from '../../../helpers/fixtures.js';
import { startEtcd } from '../../../helpers/control-plane.js';
import { until } from '../../../helpers/until.js';

const TTL_S = 2;

function task(id: string, nodeId: string, ip: string): Task {
  return {
    id,
    serviceId: 's-web',
    serviceName: 'web',
    slot: 1,
    nodeId,
    spec: makeSpec('web'),
    specVersion: 1,
    desiredState: TaskState.RUNNING,
    status: {
      state: TaskState.RUNNING,
      message: '',
      err: '',
      containerId: `c-${id}`,
      exitCode: 0,
      timestampMs: 0,
      addresses: [{ network: 'shoal', ip }],
    },
    createdAtMs: 0,
    restartHistoryMs: [],
  };
}

test('endpoints on real etcd: leases per node, keepalive, revoke on node down, expiry after the leader goes, catalog follows', async (t) => {
  const etcd = await startEtcd('shoal-endpoints-');
  const store = new EtcdStore([etcd.url], { tls: etcd.tls });
  const catalogStore = new EtcdStore([etcd.url], { tls: etcd.tls });
  const writer = new Writer(store);
  const state = new ClusterState(writer);
  const catalog = new EndpointCatalog(catalogStore);
  let registry: EndpointRegistry | undefined;
  try {
    state.putNode({ ...makeNode('host1'), description: { ...makeNode('host1').description!, address: '10.213.0.11' } });
    state.putNode({ ...makeNode('host2'), description: { ...makeNode('host2').description!, address: '10.213.0.12' } });
    state.putService({
      id: 's-web',
      spec: makeSpec('web', { replicas: 3 }),
      specVersion: 1,
      createdAtMs: 0,
      updatedAtMs: 0,
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: false,
    });
    await writer.sync();
    catalog.start();
    await catalog.whenLoaded();
    t.true(catalog.lookup('web').exists);

    registry = new EndpointRegistry(state, writer, store, { ttlSeconds: TTL_S, keepAliveMs: 400 });
    await registry.start();
    state.putTask(task('t1', 'id-host1', '10.42.1.2'));
    state.putTask(task('t2', 'id-host1', '10.42.1.3'));
    state.putTask(task('t3', 'id-host2', '10.42.2.2'));
    const seen = await until(() => catalog.lookup('web').endpoints.length === 3, 'three endpoints in the catalog');
    t.log(`measured: registered to seen by the catalog in ${seen} ms`);

    // Each key is bound to its node's lease.
    const l1 = registry.leaseOf('id-host1')!;
    const l2 = registry.leaseOf('id-host2')!;
    t.truthy(l1);
    t.truthy(l2);
    t.not(l1, l2);
    const ttl1 = await store.etcd.leaseClient.leaseTimeToLive({ ID: l1, keys: true });
    t.deepEqual(ttl1.keys.map((k) => k.toString()).sort(), [endpointKey('web', 't1'), endpointKey('web', 't2')]);
    const kv = await store.etcd.kv.range({ key: Buffer.from(endpointKey('web', 't3')) });
    t.is(
      catalog.lookup('web').index,
      Math.max(
        ...(await Promise.all(
          ['t1', 't2', 't3'].map(async (id) =>
            Number((await store.etcd.kv.range({ key: Buffer.from(endpointKey('web', id)) })).kvs[0]!.mod_revision),
          ),
        )),
      ),
    );
    t.is(String(kv.kvs[0]!.lease), l2);

    // The keepalive stream keeps them past their TTL. (Time has to pass on etcd's own clock,
    // which no test can move: this waits for no event, it lets the TTL run out.)
    await sleep((TTL_S + 1.5) * 1000);
    t.is(catalog.lookup('web').endpoints.length, 3, 'still there after more than a TTL');

    // host1 goes down: its lease is revoked, both its endpoints go in one step.
    const before = catalog.lookup('web').index;
    state.putNode({ ...state.nodes.get('id-host1')!, status: NodeStatus.DOWN });
    const gone = await until(() => catalog.lookup('web').endpoints.length === 1, "host1's endpoints gone");
    t.log(`measured: node down to endpoints gone from the catalog in ${gone} ms`);
    t.true(catalog.lookup('web').index > before);
    const ttlAfter = await store.etcd.leaseClient.leaseTimeToLive({ ID: l1 });
    t.true(Number(ttlAfter.TTL) <= 0, 'the lease is gone');

    // A task being stopped leaves at once.
    state.putTask({ ...state.tasks.get('t3')!, desiredState: TaskState.SHUTDOWN });
    await until(() => catalog.lookup('web').endpoints.length === 0, 't3 gone');
    state.putTask({ ...task('t4', 'id-host2', '10.42.2.9') });
    await until(() => catalog.lookup('web').endpoints.length === 1, 't4 registered');

    // The leader is deposed: nothing is revoked, but without keepalives its keys expire.
    await registry.close();
    registry = undefined;
    const expired = await until(() => catalog.lookup('web').endpoints.length === 0, 'expired after the leader went');
    t.log(`measured: endpoints expired ${expired} ms after keepalives stopped (TTL ${TTL_S} s)`);
  } finally {
    await registry?.close();
    await catalog.close();
    await writer.close();
    await store.close();
    await catalogStore.close();
    await etcd.close();
  }
});

test('a new leader re-puts what should exist on its own leases before the old ones expire', async (t) => {
  const etcd = await startEtcd('shoal-endpoints-');
  const store = new EtcdStore([etcd.url], { tls: etcd.tls });
  const writer = new Writer(store);
  const state = new ClusterState(writer);
  const catalog = new EndpointCatalog(store);
  const registries: EndpointRegistry[] = [];
  try {
    state.putNode(makeNode('host1'));
    state.putService({
      id: 's-web',
      spec: makeSpec('web'),
      specVersion: 1,
      createdAtMs: 0,
      updatedAtMs: 0,
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: false,
    });
    state.putTask(task('t1', 'id-host1', '10.42.1.2'));
    catalog.start();
    const first = new EndpointRegistry(state, writer, store, { ttlSeconds: TTL_S, keepAliveMs: 400 });
    registries.push(first);
    await first.start();
    await until(() => catalog.lookup('web').endpoints.length === 1, 'registered');
    const changesBefore = catalog.lookup('web').index;
    await first.close(); // deposed

    // A stale key nobody should serve (its task is gone).
    await store.commit([
      {
        kind: 'endpoints',
        id: 'web/ghost',
        value: (await store.range(endpointKey('web', 't1'), endpointKey('web', 't1') + '\0')).kvs[0]!.value!,
      },
    ]);
    await until(() => catalog.lookup('web').endpoints.length === 2, 'ghost seen');

    const second = new EndpointRegistry(state, writer, store, { ttlSeconds: TTL_S, keepAliveMs: 400 });
    registries.push(second);
    await second.start();
    await until(() => catalog.lookup('web').endpoints.length === 1, 'ghost deleted by the reconcile');
    t.is(catalog.lookup('web').endpoints[0]!.taskId, 't1');
    // The old lease expires (on etcd's clock, as above); t1 stays, bound to the new lease.
    await sleep((TTL_S + 1.5) * 1000);
    t.is(catalog.lookup('web').endpoints.length, 1);
    const kv = await store.etcd.kv.range({ key: Buffer.from(endpointKey('web', 't1')) });
    t.is(String(kv.kvs[0]!.lease), second.leaseOf('id-host1') ?? 'none');
    t.true(catalog.lookup('web').index > changesBefore);
  } finally {
    for (const r of registries) await r.close();
    await catalog.close();
    await writer.close();
    await store.close();
    await etcd.close();
  }
});
