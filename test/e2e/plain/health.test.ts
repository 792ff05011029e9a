// Health checks: a task whose check fails is FAILED with error "unhealthy" and replaced as
// its restart policy says (a new task and a new container each time), seen through
// `service ps --format json` and each host's dockerd.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  containersOf,
  measured,
  removeService,
  shoalOk,
  tasks,
  timeUntil,
  uniqueName,
  waitNodesReady,
  type TaskRow,
} from '../../helpers/bed.js';
import { setTimeout as sleep } from 'node:timers/promises';

const FAILING = ['--health-cmd', 'exit 1', '--health-interval', '1s', '--health-retries', '1'];

test.before(async () => {
  await waitNodesReady();
});

const unhealthy = (r: TaskRow): boolean => r.state === 'failed' && /unhealthy/.test(r.error);

/** Polls service ps (and every host's dockerd) until `done(rows)`; returns the rows, the ms
 * it took and every container id the engines showed meanwhile. */
async function follow(name: string, done: (rows: TaskRow[]) => boolean, timeoutMs: number, what: string) {
  const seen = new Set<string>();
  const r = await timeUntil(
    async () => {
      for (const c of await containersOf(name, { all: true })) seen.add(c.id);
      const rows = await tasks(name);
      return done(rows) ? rows : undefined;
    },
    timeoutMs,
    what,
    { intervalMs: 200 },
  );
  return { rows: r.value, ms: r.ms, seen };
}

test.serial(
  'a check that always fails: tasks fail "unhealthy" and are replaced, a new container each time',
  async (t) => {
    const name = uniqueName('sick');
    try {
      const created = Date.now();
      await shoalOk(
        'service',
        'create',
        '--name',
        name,
        '--detach',
        ...FAILING,
        '--stop-grace-period',
        '1s',
        IMAGE,
        ...HTTPD,
      );
      const first = await follow(name, (rows) => rows.some(unhealthy), 30_000, 'a task failed "unhealthy"');
      measured(t, 'create -> first task failed unhealthy (interval 1s, retries 1)', Date.now() - created);
      const r = await follow(
        name,
        (rows) => rows.filter(unhealthy).length >= 3,
        60_000,
        'three tasks of slot 1 failed "unhealthy"',
      );
      measured(t, 'first unhealthy failure -> third', r.ms);
      for (const id of first.seen) r.seen.add(id);

      const failed = r.rows.filter(unhealthy);
      t.true(
        r.rows.every((x) => x.slot === 1),
        'all in slot 1 (one replica)',
      );
      t.true(failed.length >= 3, `${failed.length} failed tasks in the slot's history`);
      for (const f of failed) t.regex(f.error, /unhealthy/, `task ${f.id}: error ${JSON.stringify(f.error)}`);
      const ids = failed.map((f) => f.containerId);
      t.true(
        ids.every((id) => id !== ''),
        'each failed task names its container',
      );
      t.is(new Set(ids).size, ids.length, `a new container each time: ${ids.map((i) => i.slice(0, 12)).join(' ')}`);
      t.is(new Set(failed.map((f) => f.id)).size, failed.length, 'a new task each time');
      t.true(r.seen.size >= 3, `the hosts' dockerd showed ${r.seen.size} distinct containers of the service`);
      for (const id of ids) t.true(r.seen.has(id), `container ${id.slice(0, 12)} was seen on a host's dockerd`);
      // and it goes on: a task newer than those three appears (the restart delay passes first)
      const failedIds = new Set(failed.map((f) => f.id));
      const next = await follow(
        name,
        (rows) => rows.some((x) => !failedIds.has(x.id)),
        15_000,
        'a task after the three failed ones',
      ).then(
        () => true,
        (e: Error) => (t.log(e.message), false),
      );
      t.true(next, 'a newer task follows');
    } finally {
      await removeService(name);
    }
  },
);

test.serial(
  'a check that fails after a while: the task runs first, then fails "unhealthy" and a new one runs',
  async (t) => {
    const name = uniqueName('tired');
    try {
      // healthy until /tmp/sick appears, 3 s after the start
      await shoalOk(
        'service',
        'create',
        '--name',
        name,
        '--health-cmd',
        'test ! -f /tmp/sick',
        '--health-interval',
        '1s',
        '--health-retries',
        '1',
        '--stop-grace-period',
        '1s',
        IMAGE,
        'sh',
        '-c',
        'sleep 3; touch /tmp/sick; exec httpd -f -p 80',
      );
      const created = Date.now();
      const [firstTask] = (await tasks(name)).filter((r) => r.state === 'running');
      t.truthy(firstTask, 'create returns with the task running (healthy)');
      const r = await follow(
        name,
        (rows) =>
          rows.some((x) => x.id === firstTask?.id && unhealthy(x)) &&
          rows.some((x) => x.id !== firstTask?.id && x.state === 'running'),
        30_000,
        'the first task failed "unhealthy" and a new one runs',
      );
      measured(t, 'running task turns unhealthy -> replacement running', r.ms);
      const old = r.rows.find((x) => x.id === firstTask?.id)!;
      const now = r.rows.find((x) => x.id !== firstTask?.id && x.state === 'running')!;
      t.regex(old.error, /unhealthy/);
      t.not(now.containerId, old.containerId, 'a new container');
      t.is(now.slot, old.slot, 'in the same slot');
      t.true(Date.now() - created >= 2_500, 'the first one ran healthy for a while');
    } finally {
      await removeService(name);
    }
  },
);

test.serial('--restart-max-attempts 2: an unhealthy task is restarted twice, then left failed', async (t) => {
  const name = uniqueName('twice');
  try {
    await shoalOk(
      'service',
      'create',
      '--name',
      name,
      '--detach',
      ...FAILING,
      '--restart-max-attempts',
      '2',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...HTTPD,
    );
    const r = await follow(
      name,
      (rows) => rows.filter(unhealthy).length >= 3,
      60_000,
      'three tasks failed "unhealthy"',
    );
    measured(t, 'three unhealthy tasks (max attempts 2)', r.ms);
    await sleep(6_000); // several restart delays and health intervals: nothing more may start
    const rows = await tasks(name);
    t.is(
      rows.length,
      3,
      `the first task and 2 restarts, no more: ${JSON.stringify(rows.map((x) => [x.state, x.error]))}`,
    );
    t.true(rows.every(unhealthy), 'all three failed unhealthy');
    t.deepEqual(await containersOf(name), [], 'nothing of it runs on any host');
  } finally {
    await removeService(name);
  }
});

test.serial('--restart-condition none: an unhealthy task is not replaced', async (t) => {
  const name = uniqueName('once');
  try {
    await shoalOk(
      'service',
      'create',
      '--name',
      name,
      '--detach',
      ...FAILING,
      '--restart-condition',
      'none',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...HTTPD,
    );
    await follow(name, (rows) => rows.some(unhealthy), 30_000, 'the task failed "unhealthy"');
    await sleep(5_000);
    const rows = await tasks(name);
    t.is(rows.length, 1, `one task, not replaced: ${JSON.stringify(rows.map((x) => [x.state, x.error]))}`);
    t.true(unhealthy(rows[0]!), 'failed unhealthy');
    t.deepEqual(await containersOf(name), [], 'nothing of it runs on any host');
  } finally {
    await removeService(name);
  }
});
