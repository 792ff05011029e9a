// etcd failures (bed: up --managers 3 --etcd 3). One member lost: the cluster keeps its
// quorum and shoal works as before. All of etcd lost for 20 s: shoal cannot write, but no
// running container is touched, and once etcd is back, writes work and converge.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  ETCD_CLIENT_TLS,
  BED,
  HTTPD,
  IMAGE,
  containersOf,
  countPerHost,
  each,
  lifeOf,
  localCluster,
  localClusterOk,
  measured,
  removeService,
  requireBed,
  runProgram,
  shoalOk,
  shoalWithin,
  sum,
  timeUntil,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

const OUTAGE_MS = 20_000;
/** Longer than a new leader's grace for nodes without a session (8 s). */
const SETTLE_MS = 10_000;

test.before(async () => {
  requireBed({ managers: 3, etcd: 3 });
  await waitNodesReady();
});

/** The member number of etcd's raft leader (etcdctl endpoint status). */
async function etcdLeader(): Promise<number> {
  const endpoints = Array.from({ length: BED.etcd }, (_, i) => BED.etcdEndpoint(i + 1));
  const r = await runProgram('etcdctl', [
    '--endpoints',
    endpoints.join(','),
    ...ETCD_CLIENT_TLS,
    'endpoint',
    'status',
    '-w',
    'simple',
  ]);
  // "https://127.0.0.1:22379, 81642ce3e5c10452, 3.4.23, 25 kB, true, false, 2, 23, 23, "
  for (const line of r.stdout.split('\n')) {
    const f = line.split(',').map((s) => s.trim());
    if (f[4] === 'true') return endpoints.indexOf(f[0]!) + 1;
  }
  throw new Error(`no etcd leader in: ${r.stdout.trim()} ${r.stderr.trim()}`);
}

test.serial('one of 3 etcd members stopped (its raft leader): create and scale still work', async (t) => {
  const name = uniqueName('etcd1');
  const member = await etcdLeader();
  try {
    await localClusterOk('stop-etcd', String(member));
    const t0 = Date.now();
    await shoalOk('service', 'create', '--name', name, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    measured(t, `etcd leader (member ${member} of 3) stopped -> service create of 3 converged`, Date.now() - t0);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(1), 30_000), each(1), 'create: one per host');
    const t1 = Date.now();
    await shoalOk('service', 'scale', `${name}=6`);
    measured(t, 'one etcd member down: scale 3 -> 6 converged', Date.now() - t1);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'scale: two per host');
  } finally {
    await localCluster('start-etcd', String(member));
    await removeService(name);
  }
});

test.serial(
  'etcd entirely stopped for 20 s: no container restarts; a scale issued after it returns converges',
  async (t) => {
    const name = uniqueName('etcd0');
    let down = false;
    try {
      await shoalOk(
        'service',
        'create',
        '--name',
        name,
        '--replicas',
        '6',
        '--stop-grace-period',
        '1s',
        IMAGE,
        ...HTTPD,
      );
      t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'before');
      const before = await lifeOf(name);
      t.is(before.length, 6);

      await localClusterOk('stop-etcd', 'all');
      down = true;
      await sleep(OUTAGE_MS);
      const during = await lifeOf(name);
      t.deepEqual(during, before, "while etcd is down: the same containers, not restarted (every host's dockerd)");
      await localClusterOk('start-etcd', 'all');
      down = false;
      const back = Date.now();

      // the managers may need a moment to elect a leader again: retry until a scale is taken
      const tries: string[] = [];
      const accepted = await timeUntil(
        async () => {
          const r = await shoalWithin(60_000, 'service', 'scale', `${name}=8`);
          if (r.code === 0) return true;
          tries.push(`${Date.now() - back} ms: ${r.stderr.trim()}`);
          await sleep(250);
          return undefined;
        },
        60_000,
        `shoal service scale ${name}=8 exits 0`,
        { since: back, intervalMs: 0 },
      );
      if (tries.length) t.log(`tries before: ${tries.join(' | ')}`);
      measured(
        t,
        `etcd back after ${OUTAGE_MS / 1000} s -> scale to 8 accepted and converged (${tries.length} failed tries)`,
        accepted.ms,
      );
      const converged = await timeUntil(
        async () => (sum(await countPerHost(name)) === 8 ? true : undefined),
        30_000,
        '8 running',
        { since: back },
      );
      measured(t, "etcd back -> 8 running on the hosts' dockerd", converged.ms);

      await sleep(SETTLE_MS);
      const after = await lifeOf(name);
      const old = after.filter((c) => before.some((b) => b.id === c.id));
      t.deepEqual(old, before, 'the 6 containers from before: same ids, same StartedAt, RestartCount 0, running');
      t.true(before.every((c) => c.restartCount === 0 && c.running));
      t.is(
        after.length,
        8,
        `exactly 8 containers of it (docker ps -a): ${JSON.stringify(after.map((c) => [c.host, c.running]))}`,
      );
      t.is((await containersOf(name)).length, 8, '8 running');
    } finally {
      if (down) await localCluster('start-etcd', 'all');
      await removeService(name);
    }
  },
);
