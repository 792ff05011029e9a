// A host cut off from the network (deploy/local-cluster partition: its agent, dockerd and
// containers keep running, its packets are dropped): its tasks are started on the other
// hosts; once it is healed, its old containers go and exactly the desired count is left.
import test from 'ava';
import {
  HOSTS,
  HTTPD,
  IMAGE,
  countPerHost,
  each,
  localCluster,
  localClusterOk,
  measured,
  removeService,
  shoalOk,
  sum,
  tasks,
  timeUntil,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

const RESCHEDULE_BUDGET_MS = 5_000;
const HEAL_BUDGET_MS = 10_000;
const VICTIM = HOSTS[HOSTS.length - 1]!;

test.before(async () => {
  await waitNodesReady();
});

test.serial(
  `partition ${VICTIM} (2 of 6 replicas): 6 run on the other hosts within 5 s; after heal exactly 6 in total within 10 s`,
  async (t) => {
    const name = uniqueName('part');
    const others = HOSTS.filter((h) => h !== VICTIM);
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
      t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'before the partition');

      await localClusterOk('partition', VICTIM);
      const cut = Date.now();
      const moved = await timeUntil(
        async () => {
          const running = await countPerHost(name);
          return others.reduce((n, h) => n + (running[h] ?? 0), 0) === 6 ? running : undefined;
        },
        60_000,
        `6 running on ${others.join(' + ')}`,
        { since: cut },
      );
      measured(t, `partition ${VICTIM} -> 6 running on the other hosts`, moved.ms, RESCHEDULE_BUDGET_MS);
      t.true(
        moved.ms <= RESCHEDULE_BUDGET_MS,
        `6 running on the other hosts after ${moved.ms} ms (budget ${RESCHEDULE_BUDGET_MS} ms): ${JSON.stringify(moved.value)}`,
      );
      t.is(
        moved.value[VICTIM],
        2,
        `the partitioned host's containers keep running meanwhile (its dockerd says ${moved.value[VICTIM]})`,
      );

      await localClusterOk('heal', VICTIM);
      const healed = Date.now();
      const settled = await timeUntil(
        async () => {
          const all = await countPerHost(name, { all: true });
          const running = await countPerHost(name);
          return sum(all) === 6 && sum(running) === 6 ? all : undefined;
        },
        60_000,
        'exactly 6 containers in total (docker ps -a on every host), all running',
        { since: healed },
      );
      measured(t, `heal ${VICTIM} -> exactly 6 containers in total`, settled.ms, HEAL_BUDGET_MS);
      t.true(
        settled.ms <= HEAL_BUDGET_MS,
        `exactly 6 in total after ${settled.ms} ms (budget ${HEAL_BUDGET_MS} ms): ${JSON.stringify(settled.value)}`,
      );
      t.is(settled.value[VICTIM], 0, `the old containers on ${VICTIM} are gone`);

      await waitNodesReady(30_000);
      const running = (await tasks(name)).filter((r) => r.desiredState === 'running');
      t.is(running.length, 6, 'service ps: 6 tasks desired running');
      t.true(
        running.every((r) => r.state === 'running' && r.node !== VICTIM),
        `all running, none on ${VICTIM}: ${JSON.stringify(running.map((r) => [r.node, r.state]))}`,
      );
    } finally {
      await localCluster('heal', VICTIM);
      await waitNodesReady(60_000).catch((e: Error) => t.log(e.message));
      await removeService(name);
    }
  },
);
