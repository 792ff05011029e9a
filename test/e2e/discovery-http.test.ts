// Service discovery (issue 5) through the manager: `shoal service lookup` and the
// Consul-shaped HTTP API of every manager list the same endpoints as the running tasks
// (per `service ps` and each host's dockerd), and a blocking query returns promptly after a
// change and holds while nothing changes.
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import {
  BED,
  IMAGE,
  managerHttp,
  measured,
  removeService,
  shoalJson,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitNodesReady,
} from '../helpers/bed.js';
import {
  consul,
  consulPairs,
  lookupPairs,
  replicasOf,
  sameSet,
  settled,
  startedAtMs,
  type LookupRow,
} from '../helpers/service-views.js';

/** A page naming its container (its hostname), served by busybox httpd. */
const PAGE_SERVER = ['sh', '-c', 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www'];

const web = uniqueName('web');

test.before(async () => {
  await waitNodesReady();
  await shoalOk(
    'service',
    'create',
    '--name',
    web,
    '--replicas',
    '3',
    '--stop-grace-period',
    '1s',
    IMAGE,
    ...PAGE_SERVER,
  );
});

test.after.always(async () => {
  await removeService(web).catch(() => {});
});

test.serial(
  'shoal service lookup web and GET /v1/health/service/web?passing (every manager) list the same endpoints as the running tasks',
  async (t) => {
    const running = await settled(web, await replicasOf(web));
    const want = (await tasks(web))
      .filter((r) => r.state === 'running' && r.desiredState === 'running')
      .map((r) => `${r.id} ${r.node} ${r.addresses?.find((a) => a.network === 'shoal')?.ip ?? ''}`)
      .sort();
    t.deepEqual(
      want.map((p) => p.split(' ')[2]).sort(),
      running.map((c) => c.ip),
      'service ps = dockerd',
    );
    const rows = await waitFor(
      async () => {
        const r = await shoalJson<LookupRow>('service', 'lookup', web);
        return sameSet(lookupPairs(r), want) ? r : undefined;
      },
      5_000,
      'lookup = running tasks',
    ).catch(() => shoalJson<LookupRow>('service', 'lookup', web));
    t.deepEqual(
      lookupPairs(rows),
      want,
      `shoal service lookup ${web} --format json:\n${JSON.stringify(rows, null, 1)}`,
    );
    for (const r of rows) t.false(r.healthChecked, `lookup row ${r.task}: web has no health check`);
    const plain = await shoalOk('service', 'lookup', web);
    for (const p of want) t.true(plain.stdout.includes(p.split(' ')[2]!), `plain lookup output names ${p}`);
    for (let n = 1; n <= BED.managers; n++) {
      const c = await consul(n, web);
      t.deepEqual(
        consulPairs(c.entries),
        want,
        `manager ${n} (${managerHttp(n)}): ${JSON.stringify(c.entries).slice(0, 400)}`,
      );
      t.true(Number.isInteger(c.index) && c.index > 0, `manager ${n}: X-Consul-Index ${c.index}`);
      for (const e of c.entries) t.is(e.Service.Service, web);
    }
    // an unknown service: an empty list, not an error (Consul's behaviour)
    const none = await consul(1, uniqueName('nosuch'));
    t.deepEqual(none.entries, []);
  },
);

test.serial(
  'a blocking query (?index=X-Consul-Index&wait=10s) holds while nothing changes and returns promptly after a scale',
  async (t) => {
    t.timeout(120_000);
    const n = await replicasOf(web);
    const before = await settled(web, n);
    const first = await consul(1, web);
    t.is(first.entries.length, n);
    let index = first.index;
    // nothing changes: the query must still be waiting after 1.5 s
    let settledAt = 0;
    const pending = consul(1, web, `passing&index=${index}&wait=10s`).then((r) => ((settledAt = Date.now()), r));
    const askedAt = Date.now();
    await sleep(1_500);
    t.is(settledAt, 0, `the blocking query answered after ${settledAt - askedAt} ms with nothing changed`);
    const scaleAt = Date.now();
    await shoalOk('service', 'scale', `${web}=${n + 1}`, '--detach');
    // Consul semantics: each change of the index ends a query; a client loops until it sees n+1
    let r = await pending;
    const returns = [r.at - scaleAt];
    while (r.entries.length !== n + 1 && Date.now() - scaleAt < 30_000) {
      t.true(r.index >= index, `index never goes back (${index} -> ${r.index})`);
      index = r.index;
      r = await consul(1, web, `passing&index=${index}&wait=10s`);
      returns.push(r.at - scaleAt);
    }
    t.is(
      r.entries.length,
      n + 1,
      `${n + 1} passing entries after the scale: ${JSON.stringify(r.entries).slice(0, 300)}`,
    );
    t.true(r.index > first.index, `X-Consul-Index grew: ${first.index} -> ${r.index}`);
    const after = await settled(web, n + 1);
    const fresh = after.filter((c) => !before.some((b) => b.id === c.id));
    t.is(fresh.length, 1);
    const ranAt = await startedAtMs(fresh[0]!);
    t.log(`blocking queries returned ${returns.map((ms) => `${ms} ms`).join(', ')} after the scale`);
    measured(t, 'new task running -> blocking HTTP query returns with it', r.at - ranAt);
    t.true(r.at - ranAt <= 1_000, `the blocking query returned ${r.at - ranAt} ms after the new task ran`);
    t.true(
      returns.every((ms) => ms < 9_000),
      'no query waited out its 10 s while things changed',
    );
  },
);
