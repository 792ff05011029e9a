// Rolling updates and rollback on the bed, observed through each host's dockerd: replicas
// kept running during stop-first and start-first updates (sampled every 100 ms), a failing
// update rolled back or paused with the CLI exiting 1 and the reason, two rollbacks going
// back two versions.
import test from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import { LABEL } from '../../../proto/naming.js';
import {
  HOSTS,
  IMAGE,
  SLEEP,
  docker,
  measured,
  removeService,
  shoal,
  shoalOk,
  uniqueName,
  waitFor,
  waitNodesReady,
} from '../../helpers/bed.js';
import { isPinnedFrom } from '../../../proto/image-ref.js';
import { variantImage } from '../../helpers/bed-images.js';

interface Running {
  host: string;
  image: string;
  cmd: string;
}

/** The running containers of a service on every host, with their image and command. */
async function running(service: string): Promise<Running[]> {
  const per = await Promise.all(
    HOSTS.map(async (host) => {
      const list = await docker(host).listContainers({ filters: { label: [`${LABEL.serviceName}=${service}`] } });
      return list.map((c) => ({ host, image: c.Image, cmd: c.Command }));
    }),
  );
  return per.flat();
}

/** Samples the running count every 100 ms until stopped; resolves to the fewest seen. */
function sampler(service: string): { stop: () => Promise<number> } {
  let done = false;
  let least = Infinity;
  const loop = (async () => {
    while (!done) {
      least = Math.min(least, (await running(service)).length);
      await sleep(100);
    }
  })();
  return {
    stop: async () => {
      done = true;
      await loop;
      return least;
    },
  };
}

const spread = (rows: Running[]) => Object.fromEntries(HOSTS.map((h) => [h, rows.filter((r) => r.host === h).length]));
const FAST = [
  '--stop-grace-period',
  '1s',
  '--update-monitor',
  '2s',
  '--update-parallelism',
  '2',
  '--rollback-monitor',
  '1s',
];
let V2 = '';

test.before(async () => {
  await waitNodesReady();
  V2 = await variantImage('v2');
});

test('6 replicas, parallelism 2: >= 4 running with stop-first, >= 6 with start-first, then 2/2/2 on the new image', async (t) => {
  const name = uniqueName('upd');
  await shoalOk('service', 'create', '--name', name, '--replicas', '6', ...FAST, IMAGE, ...SLEEP);
  try {
    const s1 = sampler(name);
    const t1 = Date.now();
    const r1 = await shoal('service', 'update', '--image', V2, name);
    const ms1 = Date.now() - t1;
    const least1 = await s1.stop();
    t.is(r1.code, 0, r1.stderr);
    t.regex(r1.stdout, /overall progress: 6 out of 6 tasks/);
    t.regex(r1.stdout, /verify: Service converged/);
    t.true(least1 >= 4, `stop-first: fewest running ${least1}`);
    const after1 = await running(name);
    t.is(after1.filter((r) => isPinnedFrom(r.image, V2)).length, 6);
    t.deepEqual(spread(after1), { host1: 2, host2: 2, host3: 2 });
    measured(t, 'update of 6 replicas, stop-first, parallelism 2, monitor 2s', ms1);

    const s2 = sampler(name);
    const t2 = Date.now();
    const r2 = await shoal('service', 'update', '--image', IMAGE, '--update-order', 'start-first', name);
    const ms2 = Date.now() - t2;
    const least2 = await s2.stop();
    t.is(r2.code, 0, r2.stderr);
    t.true(least2 >= 6, `start-first: fewest running ${least2}`);
    const after2 = await waitFor(
      async () => {
        const rows = await running(name);
        return rows.length === 6 ? rows : undefined;
      },
      20_000,
      'the old containers stopped',
    );
    t.is(after2.filter((r) => isPinnedFrom(r.image, IMAGE)).length, 6);
    measured(t, 'update of 6 replicas, start-first, parallelism 2, monitor 2s', ms2);
  } finally {
    await removeService(name);
  }
});

test('a failing update rolls back (exit 1, health never passing), pauses, and a later update proceeds', async (t) => {
  const name = uniqueName('bad');
  const ROLLBACK = [
    '--update-failure-action',
    'rollback',
    '--update-monitor',
    '3s',
    '--update-healthy-deadline',
    '10s',
  ];
  await shoalOk('service', 'create', '--name', name, '--replicas', '6', ...FAST, ...ROLLBACK, IMAGE, ...SLEEP);
  try {
    const t0 = Date.now();
    const exits = await shoal('service', 'update', '--args', "sh -c 'exit 1'", name);
    const ms = Date.now() - t0;
    t.is(exits.code, 1, exits.stdout);
    t.regex(exits.stderr, /rollback: update rolled back due to failure of task \S+\.\d+: /);
    t.true(ms < 3_000 + 10_000 + 30_000, `rolled back in ${ms} ms`);
    const back = await running(name);
    t.is(back.length, 6);
    t.true(
      back.every((r) => isPinnedFrom(r.image, IMAGE) && /sleep 3600/.test(r.cmd)),
      JSON.stringify(back),
    );
    measured(t, 'rollback after the first failure (exit 1), end to end', ms);

    const unhealthy = await shoal(
      'service',
      'update',
      '--health-cmd',
      'false',
      '--health-interval',
      '1s',
      '--health-retries',
      '1',
      name,
    );
    t.is(unhealthy.code, 1, unhealthy.stdout);
    t.regex(unhealthy.stderr, /rollback: update rolled back due to failure of task/);
    t.is((await running(name)).filter((r) => /sleep 3600/.test(r.cmd)).length, 6);

    const paused = await shoal(
      'service',
      'update',
      '--update-failure-action',
      'pause',
      '--args',
      "sh -c 'exit 1'",
      name,
    );
    t.is(paused.code, 1, paused.stdout);
    t.regex(paused.stderr, /^service update paused: update paused due to failure or early termination of task /);
    const fixed = await shoal('service', 'update', '--update-parallelism', '0', '--args', 'sleep 3601', name);
    t.is(fixed.code, 0, fixed.stderr);
    const rows = await running(name);
    t.is(rows.filter((r) => /sleep 3601/.test(r.cmd)).length, 6);
  } finally {
    await removeService(name);
  }
});

test('service rollback twice goes back two versions', async (t) => {
  const name = uniqueName('rb');
  const NO_MONITOR = ['--update-monitor', '0s', '--rollback-monitor', '0s'];
  await shoalOk('service', 'create', '--name', name, '--replicas', '2', ...FAST, ...NO_MONITOR, IMAGE, ...SLEEP);
  try {
    await shoalOk('service', 'update', '--image', V2, name);
    await shoalOk('service', 'update', '--env-add', 'V=3', name);
    const [v3] = JSON.parse((await shoalOk('service', 'inspect', name)).stdout) as Array<{
      specVersion: number;
      previousVersions: number;
    }>;
    t.like(v3, { specVersion: 3, previousVersions: 2 });
    await shoalOk('service', 'rollback', name);
    t.true((await running(name)).every((r) => isPinnedFrom(r.image, V2)));
    await shoalOk('service', 'rollback', name);
    const rows = await running(name);
    t.is(rows.length, 2);
    t.true(
      rows.every((r) => isPinnedFrom(r.image, IMAGE)),
      JSON.stringify(rows),
    );
    const none = await shoal('service', 'rollback', name);
    t.is(none.code, 1);
    t.regex(none.stderr, /has no previous version to roll back to/);
  } finally {
    await removeService(name);
  }
});
