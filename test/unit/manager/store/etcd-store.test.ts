// The leader's snapshot load against a real etcd: larger than one gRPC message (4 MB), it
// is read in pages at one revision, and endpoint keys are never part of it.
import test from 'ava';
import { TaskState } from '../../../../proto/task-state.js';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { EtcdStore } from '../../../../manager/store/etcd-store.js';
import { Writer } from '../../../../manager/store/writer.js';
import { makeNode, makeSpec } from '../../../helpers/fixtures.js';
import { startEtcd } from '../../../helpers/control-plane.js';
import { freePort } from '../../../helpers/ports.js';

test('load: 6,000 tasks of ~1.5 KB (9 MB, over the 4 MB message limit) load whole, at one revision, without endpoints', async (t) => {
  const etcd = await startEtcd('shoal-load-');
  const store = new EtcdStore([etcd.url], { tls: etcd.tls });
  try {
    const writer = new Writer(store);
    const state = new ClusterState(writer);
    state.putNode(makeNode('host1'));
    const spec = makeSpec('web', { replicas: 6000, env: [`PAD=${'x'.repeat(1200)}`] });
    state.putService({
      id: 's-web',
      spec,
      specVersion: 1,
      createdAtMs: 0,
      updatedAtMs: 0,
      updateStatus: undefined,
      previousVersions: [],
      hasRegistryAuth: false,
    });
    for (let i = 0; i < 6000; i++) {
      state.putTask({
        id: `t${String(i).padStart(5, '0')}`,
        serviceId: 's-web',
        serviceName: 'web',
        slot: i + 1,
        nodeId: 'id-host1',
        spec,
        specVersion: 1,
        desiredState: TaskState.RUNNING,
        status: {
          state: TaskState.RUNNING,
          message: '',
          err: '',
          containerId: 'c',
          exitCode: 0,
          timestampMs: 1,
          addresses: [],
        },
        createdAtMs: i,
        restartHistoryMs: [],
      });
    }
    writer.put('endpoints', 'web/t00000', '{}');
    await writer.sync();
    const snap = await store.load();
    t.is(snap.tasks.length, 6000);
    t.is(new Set(snap.tasks.map((x) => x.id)).size, 6000);
    t.is(snap.nodes.length, 1);
    t.is(snap.services.length, 1);
    t.true(snap.revision > 0);
    await writer.close();
  } finally {
    await store.close();
    await etcd.close();
  }
});

test('one etcd member: a failed call does not open a circuit breaker that fails the next calls (lease renewals among them)', async (t) => {
  const port = await freePort(); // nothing listens there
  const store = new EtcdStore([`http://127.0.0.1:${port}`]);
  try {
    const messages: string[] = [];
    for (let i = 0; i < 3; i++) {
      const err = await t.throwsAsync(store.commit([{ kind: 'nodes', id: 'n1', value: '{}' }]));
      messages.push(err?.message ?? '');
    }
    for (const m of messages) t.notRegex(m, /circuit breaker/, m);
  } finally {
    await store.close();
  }
});
