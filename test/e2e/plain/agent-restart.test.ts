// Restarting an agent adopts its containers: nothing is restarted or replaced.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  containersOf,
  countPerHost,
  each,
  localCluster,
  removeService,
  shoalOk,
  tasks,
  uniqueName,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';
import { setTimeout as sleep } from 'node:timers/promises';

test.before(async () => {
  await waitNodesReady();
});

const idsByHost = async (name: string): Promise<Record<string, string[]>> => {
  const out: Record<string, string[]> = {};
  for (const c of await containersOf(name)) (out[c.host] ??= []).push(c.id);
  for (const ids of Object.values(out)) ids.sort();
  return out;
};

test.serial('restarting the agent on host2 leaves the same containers running', async (t) => {
  const name = uniqueName('restart');
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '6', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'before the restart');
    const before = await idsByHost(name);

    const stop = await localCluster('stop-agent', 'host2');
    t.is(stop.code, 0, `stop-agent host2: ${stop.stderr.trim()}`);
    t.deepEqual(await idsByHost(name), before, 'containers keep running while the agent is stopped');

    const start = await localCluster('start-agent', 'host2');
    t.is(start.code, 0, `start-agent host2: ${start.stderr.trim()}`);
    await waitNodesReady(60_000);
    // give the restarted agent time to reconcile (it would remove or start containers now)
    await sleep(5_000);

    t.deepEqual(await idsByHost(name), before, 'the same container IDs run on every host');
    t.deepEqual(await countPerHost(name, { all: true }), each(2), 'no extra container (docker ps -a)');
    const running = (await tasks(name)).filter((r) => r.state === 'running');
    t.is(running.length, 6, 'service ps: 6 running tasks');
    t.deepEqual(
      running.map((r) => r.containerId).sort(),
      Object.values(before).flat().sort(),
      'tasks point at those containers',
    );
  } finally {
    await localCluster('start-agent', 'host2'); // no-op when it runs
    await removeService(name);
  }
});
