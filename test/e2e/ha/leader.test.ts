// Manager high availability (bed: up --managers 3): with the leader gone, another manager
// takes over, writes are accepted again within 5 s and converge, and the containers that
// ran meanwhile are left alone.
import test, { type ExecutionContext } from 'ava';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  BED,
  HTTPD,
  IMAGE,
  containersOf,
  countPerHost,
  each,
  localCluster,
  localClusterOk,
  managers,
  measured,
  removeService,
  requireBed,
  shoalOk,
  shoalWithin,
  sum,
  timeUntil,
  uniqueName,
  waitFor,
  waitForValue,
  waitNodesReady,
} from '../../helpers/bed.js';

const WRITE_BUDGET_MS = 5_000;
/** Longer than the new leader's grace for nodes without a session (8 s): a node it wrongly
 * marks down shows up as replaced containers within this. */
const SETTLE_MS = 10_000;

test.before(async () => {
  requireBed({ managers: 3 });
  await waitNodesReady();
  await waitForManagers(3);
});

/** Waits until `manager ls` lists `n` managers, exactly one of them leader. */
async function waitForManagers(n: number) {
  return waitFor(
    async () => {
      const rows = await managers();
      return rows.length === n && rows.filter((r) => r.leader).length === 1 ? rows : undefined;
    },
    30_000,
    `manager ls: ${n} managers, one leader`,
  );
}

/** Scales until a `shoal service scale` exits 0 (each try fails over across SHOAL_HOST's
 * addresses by itself); returns the ms from `since` and the tries. */
async function scaleUntilAccepted(t: ExecutionContext, spec: string, since: number) {
  const tries: string[] = [];
  const r = await timeUntil(
    async () => {
      const res = await shoalWithin(60_000, 'service', 'scale', spec);
      if (res.code === 0) return res;
      tries.push(`${Date.now() - since} ms: exit ${res.code}: ${res.stderr.trim()}`);
      await sleep(200);
      return undefined;
    },
    60_000,
    `shoal service scale ${spec} exits 0`,
    { since, intervalMs: 0 },
  );
  if (tries.length > 0) t.log(`failed tries before: ${tries.join(' | ')}`);
  return { ms: r.ms, tries: tries.length };
}

async function failOver(t: ExecutionContext, how: 'crash' | 'graceful') {
  const name = uniqueName(how === 'crash' ? 'ha-kill' : 'ha-term');
  let stopped = '';
  try {
    await shoalOk('service', 'create', '--name', name, '--replicas', '6', '--stop-grace-period', '1s', IMAGE, ...HTTPD);
    t.deepEqual(await waitForValue(() => countPerHost(name), each(2), 30_000), each(2), 'before');
    const before = (await containersOf(name)).map((c) => c.id);
    const leaderBefore = (await waitForManagers(3)).find((r) => r.leader)!;

    const stop = await localClusterOk('stop-manager', ...(how === 'graceful' ? ['--graceful'] : []), 'leader');
    const stoppedAt = Date.now();
    stopped = stop.stdout.trim();
    t.is(
      BED.managerAddress(Number(stopped)),
      leaderBefore.address,
      `stop-manager leader stopped the leader (manager${stopped})`,
    );

    // meanwhile, when does `service ls` (any manager) first show the new count? That is the
    // write taken; the scale command itself returns once the tasks run.
    let stored = 0;
    let probing = true;
    const probe = (async () => {
      while (probing && stored === 0) {
        const r = await shoalWithin(5_000, 'service', 'ls', '--format', 'json');
        if (
          r.code === 0 &&
          (JSON.parse(r.stdout) as Array<{ name: string; replicas: number }>).some(
            (x) => x.name === name && x.replicas === 8,
          )
        ) {
          stored = Date.now() - stoppedAt;
        }
        await sleep(100);
      }
    })();
    const accepted = await scaleUntilAccepted(t, `${name}=8`, stoppedAt);
    probing = false;
    await probe;
    const what = how === 'crash' ? 'SIGKILL' : 'SIGTERM';
    if (stored) measured(t, `leader ${what} -> new replica count stored (service ls shows 8)`, stored);
    measured(
      t,
      `leader ${what} -> shoal service scale web=8 exits 0, converged (${accepted.tries} failed tries)`,
      accepted.ms,
      WRITE_BUDGET_MS,
    );
    t.true(
      accepted.ms <= WRITE_BUDGET_MS,
      `scale succeeded ${accepted.ms} ms after the leader stopped (budget ${WRITE_BUDGET_MS} ms)`,
    );

    const converged = await timeUntil(
      async () => (sum(await countPerHost(name)) === 8 ? true : undefined),
      30_000,
      '8 running on the hosts',
      { since: stoppedAt },
    );
    measured(t, `leader ${what} -> 8 running on the hosts' dockerd`, converged.ms);

    // the stopped manager may still be listed until its registration expires: look at leaders
    const after = await waitFor(
      async () => {
        const rows = await managers();
        const leaders = rows.filter((r) => r.leader);
        return leaders.length === 1 && leaders[0]?.address !== leaderBefore.address ? rows : undefined;
      },
      10_000,
      'manager ls: one leader, not the stopped one',
    ).catch(async (e: Error) => {
      t.log(e.message);
      return managers();
    });
    const leaderAfter = after.filter((r) => r.leader);
    t.is(leaderAfter.length, 1, `one leader after: ${JSON.stringify(after)}`);
    t.not(leaderAfter[0]?.address, leaderBefore.address, 'a new leader');

    await sleep(SETTLE_MS);
    const now = (await containersOf(name)).map((c) => c.id);
    t.deepEqual(
      before.filter((id) => !now.includes(id)),
      [],
      'the 6 containers from before still run (none replaced)',
    );
    t.is(sum(await countPerHost(name, { all: true })), 8, 'exactly 8 containers of it on the hosts (docker ps -a)');
  } finally {
    if (stopped) await localCluster('start-manager', stopped);
    await removeService(name);
  }
  await waitForManagers(3);
}

test.serial('the leader of 3 managers crashes (SIGKILL): scale web=8 succeeds within 5 s and converges', async (t) => {
  await failOver(t, 'crash');
});

test.serial(
  'the leader of 3 managers stops (SIGTERM, resigns): scale web=8 succeeds within 5 s and converges',
  async (t) => {
    await failOver(t, 'graceful');
  },
);
