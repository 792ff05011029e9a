// Draining a node moves its tasks elsewhere; its dockerd ends up with none of them.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  countPerHost,
  each,
  nodes,
  removeService,
  shoal,
  shoalOk,
  sum,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

test.before(async () => {
  await waitNodesReady();
});

test.serial('node update --availability drain host1 empties host1 and keeps 6 running elsewhere', async (t) => {
  const name = uniqueName('drain');
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '6', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'before the drain');

    await shoalOk('node', 'update', '--availability', 'drain', 'host1');
    const host1 = (await nodes()).find((n) => n.hostname === 'host1');
    t.is(host1?.availability, 'drain', 'node ls shows host1 drained');

    const settled = await waitFor(
      async () => {
        const running = await countPerHost(name);
        const any = await countPerHost(name, { all: true });
        return running.host1 === 0 && any.host1 === 0 && sum(running) === 6 ? running : undefined;
      },
      45_000,
      'host1 empty and 6 running on the other hosts',
    ).catch(async (e: Error) => {
      t.log(e.message);
      return countPerHost(name);
    });
    t.is(settled.host1, 0, 'no container of the service left on host1');
    t.is(sum(settled), 6, `6 running elsewhere (${JSON.stringify(settled)})`);
    t.is((await countPerHost(name, { all: true })).host1, 0, 'not even a stopped one on host1 (docker ps -a)');
  } finally {
    const r = await shoal('node', 'update', '--availability', 'active', 'host1');
    if (r.code !== 0) t.log(`restoring host1 failed: ${r.stderr}`);
    await removeService(name);
  }
  const host1 = (await nodes()).find((n) => n.hostname === 'host1');
  t.is(host1?.availability, 'active', 'host1 active again');
});
