// A task's container killed behind shoal's back (`docker kill` on its host) is replaced.
import test from 'ava';
import {
  HTTPD,
  IMAGE,
  containersOf,
  countPerHost,
  docker,
  each,
  measured,
  removeService,
  shoalOk,
  tasks,
  timeUntil,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

const REPLACE_BUDGET_MS = 3_000;

test.before(async () => {
  await waitNodesReady();
});

test.serial('docker kill of a task container on host2: a replacement runs within 3 s', async (t) => {
  const name = uniqueName('kill');
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '3', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(1), 30_000), each(1), 'one per host before');
    const before = await containersOf(name);
    const victim = before.find((c) => c.host === 'host2')!;
    const others = new Set(before.map((c) => c.id));

    const killedAt = Date.now();
    await docker('host2').getContainer(victim.id).kill();
    const replaced = await timeUntil(
      async () => {
        const now = await containersOf(name);
        const fresh = now.filter((c) => !others.has(c.id));
        return now.length === 3 && fresh.length === 1 && !now.some((c) => c.id === victim.id) ? fresh[0] : undefined;
      },
      30_000,
      '3 running again, one of them a new container',
      { since: killedAt },
    );
    measured(t, 'docker kill -> replacement running', replaced.ms, REPLACE_BUDGET_MS);
    t.true(
      replaced.ms <= REPLACE_BUDGET_MS,
      `replacement running after ${replaced.ms} ms (budget ${REPLACE_BUDGET_MS} ms) on ${replaced.value.host}`,
    );
    t.is(replaced.value.slot, victim.slot, 'in the slot of the killed one');

    // service ps: the killed task failed with the engine's exit code, a new one runs in its slot
    const slot = await waitFor(
      async () => {
        const rows = (await tasks(name)).filter((r) => String(r.slot) === victim.slot);
        const old = rows.find((r) => r.containerId === victim.id);
        const now = rows.find((r) => r.containerId === replaced.value.id);
        return old && now && old.state === 'failed' && now.state === 'running' ? { old, now } : undefined;
      },
      15_000,
      `slot ${victim.slot}: the killed task failed, the new one running`,
    );
    t.not(slot.old.id, slot.now.id, 'a new task, not the old one restarted');
    if (slot.old.exitCode !== undefined) t.is(slot.old.exitCode, 137, 'exit code of a SIGKILL');
  } finally {
    await removeService(name);
  }
});
