// cli/commands/service/wait.ts: the converge wait on a ManualClock (auto mode) and a scripted
// ListServices; then a manager failing over mid-wait, through shoal.
import { status as grpcStatus } from '@grpc/grpc-js';
import test from 'ava';
import { waitForConvergence, type WaitTarget } from '../../../../../cli/commands/service/wait.js';
import { CliError, ManagerError, UnreachableError } from '../../../../../cli/errors.js';
import type { ServiceStatus, ServiceSummary } from '../../../../../proto/gen/shoal.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { ManualClock } from '../../../../helpers/manual-clock.js';
import { lines, runInProcess } from '../../../../helpers/run-shoal.js';

const WEB: WaitTarget = { id: 'id-web', name: 'web' };
const API: WaitTarget = { id: 'id-api', name: 'api' };

type Step = Record<string, Partial<ServiceStatus> | undefined> | Error;

const NO_LEADER = new ManagerError('no leader', grpcStatus.UNAVAILABLE, true);
const UNREACHABLE = new UnreachableError('a:1,b:2');

const START = 1_000_000;

/**
 * Each poll returns the next step (the last one repeats), or throws it when it is an Error;
 * time moves only in sleep() (a ManualClock in auto mode).
 */
function fake(steps: Step[]) {
  const clock = new ManualClock({ start: START, auto: true });
  let polls = 0;
  const lines: string[] = [];
  const deps = {
    async listServices(): Promise<ServiceSummary[]> {
      const step = steps[Math.min(polls, steps.length - 1)] ?? {};
      polls++;
      if (step instanceof Error) throw step;
      return Object.entries(step).flatMap(([id, s]) =>
        s === undefined
          ? []
          : [
              {
                service: {
                  id,
                  spec: undefined,
                  specVersion: 1,
                  createdAtMs: 0,
                  updatedAtMs: 0,
                  updateStatus: undefined,
                  previousVersions: [],
                  hasRegistryAuth: false,
                },
                status: { desired: 0, running: 0, stopping: 0, pendingReason: '', ...s },
              },
            ],
      );
    },
    clock,
    progress: (line: string) => lines.push(line),
  };
  return { deps, lines, sleeps: clock.requested, polls: () => polls, elapsed: () => clock.now() - START };
}

test('returns once running == desired and nothing is stopping; prints changes only', async (t) => {
  const f = fake([
    { 'id-web': { desired: 3, running: 0 } },
    { 'id-web': { desired: 3, running: 0 } },
    { 'id-web': { desired: 3, running: 2 } },
    { 'id-web': { desired: 3, running: 3, stopping: 1 } },
    { 'id-web': { desired: 3, running: 3 } },
  ]);
  await waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, ['web: 0/3 running', 'web: 2/3 running', 'web: 3/3 running, 1 stopping', 'web: 3/3 running']);
  t.is(f.polls(), 5);
  t.deepEqual(f.sleeps, [100, 100, 100, 100]);
});

test('already converged: one poll, no sleep', async (t) => {
  const f = fake([{ 'id-web': { desired: 0, running: 0 } }]);
  await waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, ['web: 0/0 running']);
  t.deepEqual(f.sleeps, []);
});

test('waits for every target', async (t) => {
  const f = fake([
    { 'id-web': { desired: 1, running: 1 }, 'id-api': { desired: 2, running: 0 } },
    { 'id-web': { desired: 1, running: 1 }, 'id-api': { desired: 2, running: 2 } },
  ]);
  await waitForConvergence([WEB, API], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, ['web: 1/1 running', 'api: 0/2 running', 'api: 2/2 running']);
});

test('cannot converge: a pending reason and no progress for 5 s', async (t) => {
  const reason = 'no suitable node (constraint node.labels.zone==x: 3 nodes)';
  const f = fake([{ 'id-web': { desired: 2, running: 0, pendingReason: reason } }]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps), { instanceOf: CliError });
  t.is(err?.message, `service web cannot converge: ${reason}`);
  t.is(f.elapsed(), 5000);
});

test('progress resets the 5 s window', async (t) => {
  const reason = 'insufficient memory on 2 nodes';
  const steps: Step[] = [];
  for (let i = 0; i < 40; i++) steps.push({ 'id-web': { desired: 3, running: 0, pendingReason: reason } }); // 4 s
  steps.push({ 'id-web': { desired: 3, running: 1, pendingReason: reason } }); // progress at 4 s
  const f = fake(steps);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.regex(err?.message ?? '', /cannot converge/);
  t.is(f.elapsed(), 9000);
});

test('no pending reason: keeps waiting until the timeout', async (t) => {
  const f = fake([{ 'id-web': { desired: 3, running: 1 } }]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 30_000 }, f.deps), { instanceOf: CliError });
  t.is(err?.message, 'timed out after 30s waiting for web (1/3 running) to converge');
  t.is(f.elapsed(), 30_000);
});

test('timeout message names only the services not converged', async (t) => {
  const f = fake([{ 'id-web': { desired: 1, running: 1 }, 'id-api': { desired: 2, running: 0, stopping: 1 } }]);
  const err = await t.throwsAsync(waitForConvergence([WEB, API], { timeoutMs: 250 }, f.deps));
  t.is(err?.message, 'timed out after 250ms waiting for api (0/2 running, 1 stopping) to converge');
  t.deepEqual(f.sleeps, [100, 100, 50]);
});

test('a service removed while waiting is an error, once missing for 2 s', async (t) => {
  const f = fake([{ 'id-web': { desired: 1, running: 0 } }, {}]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.is(err?.message, 'service web was removed while waiting for it to converge');
  t.is(f.elapsed(), 100 + 2000);
});

test('a listing without the service for a moment (a manager just started) is not a removal', async (t) => {
  const f = fake([
    { 'id-web': { desired: 2, running: 1 } },
    {},
    {},
    { 'id-web': { desired: 2, running: 1 } },
    {},
    { 'id-web': { desired: 2, running: 2 } },
  ]);
  await waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, ['web: 1/2 running', 'web: 2/2 running']);
});

test('a service never listed gives up after 5 s', async (t) => {
  const f = fake([{}]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.is(err?.message, 'service web is not listed by the manager');
  t.is(f.elapsed(), 5000);
});

test('a status still showing the old desired count is not converged', async (t) => {
  const f = fake([
    { 'id-web': { desired: 1, running: 1 } },
    { 'id-web': { desired: 3, running: 1 } },
    { 'id-web': { desired: 3, running: 3 } },
  ]);
  await waitForConvergence([{ ...WEB, desired: 3 }], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, ['web: 1/1 running', 'web: 1/3 running', 'web: 3/3 running']);
});

// ------------------------------------------------------------------ managers failing over

test('a manager failover mid-wait: retryable errors are retried, the wait carries on', async (t) => {
  const f = fake([
    { 'id-web': { desired: 3, running: 1 } },
    UNREACHABLE,
    UNREACHABLE,
    NO_LEADER,
    { 'id-web': { desired: 3, running: 1 } },
    { 'id-web': { desired: 3, running: 3 } },
  ]);
  await waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps);
  t.deepEqual(f.lines, [
    'web: 1/3 running',
    `retrying: ${UNREACHABLE.message}`,
    'retrying: no leader',
    'web: 1/3 running', // where things stand once a manager answers again
    'web: 3/3 running',
  ]);
  t.deepEqual(f.sleeps, [100, 250, 250, 250, 100]);
});

test('errors that are not retryable end the wait at once', async (t) => {
  const notFound = new ManagerError('service "web" not found', grpcStatus.NOT_FOUND, false);
  const f = fake([{ 'id-web': { desired: 3, running: 1 } }, notFound]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.is(err, notFound);
  const bug = new TypeError('boom');
  const g = fake([bug]);
  t.is(await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, g.deps)), bug);
});

test('no manager for the whole --timeout: timed out, naming the last error', async (t) => {
  const f = fake([{ 'id-web': { desired: 2, running: 1 } }, NO_LEADER]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 1000 }, f.deps), { instanceOf: CliError });
  t.is(err?.message, 'timed out after 1s waiting for web (1/2 running) to converge (last error: no leader)');
  t.deepEqual(f.lines, ['web: 1/2 running', 'retrying: no leader']);
  t.is(f.elapsed(), 1000);
});

test('an outage does not count as 5 s without progress, nor as a service not listed', async (t) => {
  const reason = 'no suitable node (1 node down)';
  const pending = { 'id-web': { desired: 2, running: 1, pendingReason: reason } };
  const steps: Step[] = [pending];
  for (let i = 0; i < 24; i++) steps.push(UNREACHABLE); // 6 s without a manager
  steps.push(pending);
  const f = fake(steps);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.is(err?.message, `service web cannot converge: ${reason}`);
  // 6 s of outage, then a fresh 5 s window
  t.is(f.elapsed(), 100 + 24 * 250 + 5000);

  const g = fake([UNREACHABLE, ...Array<Step>(30).fill(UNREACHABLE), { 'id-web': { desired: 1, running: 1 } }]);
  await waitForConvergence([WEB], { timeoutMs: 60_000 }, g.deps);
  t.deepEqual(g.lines, [`retrying: ${UNREACHABLE.message}`, 'web: 1/1 running']);
});

// ------------------------------------------------------------------ through shoal

test('a manager failing over mid-wait: the converge wait moves on to the next manager', async (t) => {
  const { fake: a, host: hostA } = await startFake(t, [NODE2, NODE1]);
  const { fake: b, host: hostB } = await startFake(t, [NODE2, NODE1]);
  b.services = a.services; // one cluster store behind both
  a.statusScript.set('web', [{ desired: 3, running: 1 }]);
  b.statusScript.set('web', [
    { desired: 3, running: 2 },
    { desired: 3, running: 3 },
  ]);
  // The wait sleeps between polls on `clock`: a answers three polls, then dies while the wait sleeps.
  const clock = new ManualClock();
  const run = runInProcess(['service', 'create', '--name', 'web', '--replicas', '3', 'img'], `${hostA},${hostB}`, {
    clock,
  });
  for (;;) {
    await clock.waitForTimers();
    if (a.count('listServices') === 3) break;
    clock.advance();
  }
  a.kill();
  const r = await clock.drive(run);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, `${a.services[0]?.id}\n`);
  t.deepEqual(lines(r.stderr), ['web: 1/3 running', 'web: 2/3 running', 'web: 3/3 running']);
  t.is(a.count('createService'), 1);
  t.true(b.count('listServices') >= 2);
});

test('no leader for a while (a single manager, election running): the wait retries until it answers', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addService({ name: 'web', replicas: 1 });
  fake.statusScript.set('web', [
    { desired: 2, running: 1 },
    { desired: 2, running: 1 },
    { desired: 2, running: 2 },
  ]);
  fake.onCall = (method) => {
    if (method === 'scaleService')
      fake.failNext('listServices', { code: grpcStatus.UNAVAILABLE, details: 'no leader' }, 4);
  };
  const clock = new ManualClock({ auto: true });
  const r = await runInProcess(['service', 'scale', 'web=2'], host, { clock });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'web scaled to 2\n');
  t.deepEqual(lines(r.stderr), ['retrying: no leader', 'web: 1/2 running', 'web: 2/2 running']);
  t.is(fake.count('listServices'), 4 + 3);
  t.deepEqual(clock.requested, [250, 250, 250, 250, 100, 100], 'a retry after each failed poll, then polls');
});
