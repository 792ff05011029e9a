// Placement constraints: a hostname pins every replica; an impossible constraint leaves the
// tasks pending with the scheduler's reason.
import test from 'ava';
import {
  IMAGE,
  SLEEP,
  containersOf,
  countPerHost,
  removeService,
  shoal,
  shoalOk,
  tasks,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial('--constraint node.hostname==host2 puts every replica on host2', async (t) => {
  const name = uniqueName('pin');
  try {
    await shoalOk(
      'service',
      'create',
      '--name',
      name,
      '--replicas',
      '4',
      '--constraint',
      'node.hostname==host2',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    const want = { host1: 0, host2: 4, host3: 0 };
    t.deepEqual(await waitForValue(() => countPerHost(name), want, 30_000), want, 'containers per host');
    const rows = (await tasks(name)).filter((r) => r.desiredState === 'running');
    t.deepEqual([...new Set(rows.map((r) => r.node))], ['host2'], 'service ps: every running task on host2');
  } finally {
    await removeService(name);
  }
});

test.serial('an impossible constraint leaves tasks pending with "no suitable node"', async (t) => {
  const detached = uniqueName('nowhere');
  const waited = uniqueName('nowhere-w');
  try {
    await shoalOk(
      'service',
      'create',
      '--name',
      detached,
      '--replicas',
      '2',
      '--constraint',
      'node.labels.zone==nowhere',
      '--detach',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    const rows = await waitFor(
      async () => {
        const r = await tasks(detached);
        return r.length === 2 && r.every((x) => x.state === 'pending' && x.error.startsWith('no suitable node'))
          ? r
          : undefined;
      },
      20_000,
      'two pending tasks with "no suitable node"',
    ).catch(async (e: Error) => {
      t.log(e.message);
      return tasks(detached);
    });
    t.is(rows.length, 2, 'service ps lists both tasks');
    for (const r of rows) {
      t.is(r.state, 'pending', `task ${r.slot} state`);
      t.true(r.error.startsWith('no suitable node'), `task ${r.slot} error: ${JSON.stringify(r.error)}`);
      t.is(r.node, '', `task ${r.slot} unassigned`);
    }
    t.deepEqual(await containersOf(detached, { all: true }), [], 'no container on any host');

    const r = await shoal(
      'service',
      'create',
      '--name',
      waited,
      '--replicas',
      '1',
      '--constraint',
      'node.labels.zone==nowhere',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    t.not(r.code, 0, 'without --detach, create exits non-zero');
    t.regex(r.stderr, /no suitable node/, 'and prints the reason');
    t.deepEqual(await containersOf(waited, { all: true }), [], 'no container on any host');
  } finally {
    await removeService(detached);
    await removeService(waited);
  }
});
