import test from 'ava';
import { CliError } from '../../../cli/errors.js';
import { waitForConvergence, type WaitTarget } from '../../../cli/wait.js';
import type { ServiceStatus, ServiceSummary } from '../../../proto/gen/shoal.js';

const WEB: WaitTarget = { id: 'id-web', name: 'web' };
const API: WaitTarget = { id: 'id-api', name: 'api' };

type Step = Record<string, Partial<ServiceStatus> | undefined>;

/** Each poll returns the next step (the last one repeats); time moves only in sleep(). */
function fake(steps: Step[]) {
  let clock = 1_000_000;
  let polls = 0;
  const lines: string[] = [];
  const sleeps: number[] = [];
  const deps = {
    async listServices(): Promise<ServiceSummary[]> {
      const step = steps[Math.min(polls, steps.length - 1)] ?? {};
      polls++;
      return Object.entries(step).flatMap(([id, s]) =>
        s === undefined
          ? []
          : [
              {
                service: { id, spec: undefined, specVersion: 1, createdAtMs: 0, updatedAtMs: 0 },
                status: { desired: 0, running: 0, stopping: 0, pendingReason: '', ...s },
              },
            ],
      );
    },
    now: () => clock,
    async sleep(ms: number) {
      sleeps.push(ms);
      clock += ms;
    },
    progress: (line: string) => lines.push(line),
  };
  return { deps, lines, sleeps, polls: () => polls, elapsed: () => clock - 1_000_000 };
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

test('a service removed while waiting is an error', async (t) => {
  const f = fake([{ 'id-web': { desired: 1, running: 0 } }, {}]);
  const err = await t.throwsAsync(waitForConvergence([WEB], { timeoutMs: 60_000 }, f.deps));
  t.is(err?.message, 'service web was removed while waiting for it to converge');
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
