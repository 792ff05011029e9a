// Global services run exactly one task on every host.
import test from 'ava';
import {
  IMAGE,
  SLEEP,
  countPerHost,
  each,
  removeService,
  shoalOk,
  tasks,
  uniqueName,
  waitForValue,
  waitNodesReady,
  HOSTS,
} from '../../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial('--mode global runs exactly one task per host', async (t) => {
  const name = uniqueName('global');
  try {
    await shoalOk(
      'service',
      'create',
      '--name',
      name,
      '--mode',
      'global',
      '--stop-grace-period',
      '1s',
      IMAGE,
      ...SLEEP,
    );
    t.deepEqual(await waitForValue(() => countPerHost(name), each(1), 30_000), each(1), 'running containers per host');
    t.deepEqual(await countPerHost(name, { all: true }), each(1), 'and no other container of it (docker ps -a)');
    const running = (await tasks(name)).filter((r) => r.state === 'running');
    t.deepEqual(running.map((r) => r.node).sort(), [...HOSTS].sort(), 'service ps: one running task per node');
  } finally {
    await removeService(name);
  }
});
