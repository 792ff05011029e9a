// Replicated services spread evenly over the bed's hosts, and scaling follows through on
// every host's dockerd.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  countPerHost,
  containersOf,
  each,
  removeService,
  shoalOk,
  sum,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial('6 replicas run 2/2/2; scale to 9 gives 3/3/3; scale to 2 leaves exactly 2 containers', async (t) => {
  const name = uniqueName('spread');
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '6', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'after create --replicas 6');

    await shoalOk('service', 'scale', `${name}=9`);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(3), 30_000), each(3), 'after scale to 9');

    await shoalOk('service', 'scale', `${name}=2`);
    // running or not: the stopped tasks' containers must be gone too
    const all = await waitForValue(async () => sum(await countPerHost(name, { all: true })), 2, 30_000);
    t.is(all, 2, 'containers of any state after scale to 2 (docker ps -a)');
    t.is((await containersOf(name)).length, 2, 'running containers after scale to 2');
  } finally {
    await removeService(name);
  }
});
