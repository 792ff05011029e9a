// The leader's lease is renewed from a worker thread: a main event loop held longer than
// the lease TTL (a long GC, 1,000 agents' I/O) must not cost the leadership. Before the
// worker, the renewals waited behind the loop and etcd expired the lease.
import test from 'ava';
import { Etcd3 } from 'etcd3';
import { LEADER_KEY, LEASE_TTL_S } from '../../../../manager/leadership/election.js';
import { Manager } from '../../../../manager/manager.js';
import { managerConfig, startControlPlane } from '../../../helpers/control-plane.js';

async function until(cond: () => boolean, ms: number): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`condition not met within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a leader whose event loop is held for longer than the lease TTL still leads after it', async (t) => {
  const cp = await startControlPlane('shoal-lease-');
  const lines: string[] = [];
  const m = new Manager(managerConfig(cp, 'm', { httpListen: 'off', log: (l) => lines.push(l) }));
  const client = new Etcd3({ hosts: cp.etcdUrl });
  try {
    await m.start();
    await until(() => m.isLeader, 15_000);
    const before = await client.get(LEADER_KEY).exec();
    const leaseBefore = String(before.kvs[0]?.lease);
    t.truthy(before.kvs[0], 'the leader key exists');

    // Hold this thread (the manager's event loop) for 1.75 TTLs: nothing on it runs.
    const holdMs = LEASE_TTL_S * 1000 * 1.75;
    const end = Date.now() + holdMs;
    while (Date.now() < end) {
      // busy
    }
    // Let the loop run what queued up meanwhile (the watch, the timers).
    await new Promise((r) => setTimeout(r, 1_000));

    const after = await client.get(LEADER_KEY).exec();
    t.is(String(after.kvs[0]?.lease), leaseBefore, 'the leader key is still held on the same lease');
    t.true(m.isLeader, 'still leading');
    t.deepEqual(
      lines.filter((l) => /stepping down|elected leader/.test(l)).length,
      1,
      `one election, no step-down: ${lines.filter((l) => /stepping|elected/.test(l)).join(' | ')}`,
    );
  } finally {
    client.close();
    await m.close();
    await cp.close();
  }
});
