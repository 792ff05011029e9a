// cli/commands/service/inspect.ts: a JSON array of services, through the real cli/bin/shoal.
import test from 'ava';
import { serviceInspect } from '../../../../../cli/commands/service/inspect.js';
import { RestartCondition } from '../../../../../proto/gen/shoal.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('service inspect options', (t) => {
  t.deepEqual(parseAs(serviceInspect, ['service', 'inspect', 'a', 'b']).refs, ['a', 'b']);
  t.deepEqual(parseAs(serviceInspect, ['service', 'inspect', '--format', 'json', 'a']).refs, ['a']);
  t.is(usageError(['service', 'inspect', '--format', 'table', 'a']), 'invalid --format "table": expected json');
  t.is(usageError(['service', 'inspect']), 'service inspect requires at least one SERVICE');
});

// ------------------------------------------------------------------ through shoal

test('service inspect: health and restart settings as the manager stored them', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addService({
    name: 'web',
    health: {
      test: ['CMD-SHELL', 'wget -q localhost'],
      intervalMs: 5000,
      timeoutMs: 2000,
      retries: 3,
      startPeriodMs: 0,
    },
    restart: { condition: RestartCondition.ON_FAILURE, delayMs: 1000, maxAttempts: 5, windowMs: 0 },
    stopGracePeriodMs: 0,
  });
  const r = await shoal(['service', 'inspect', 'web'], host);
  t.is(r.code, 0, r.stderr);
  const [row] = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  t.deepEqual(row?.health, {
    test: ['CMD-SHELL', 'wget -q localhost'],
    intervalMs: 5000,
    timeoutMs: 2000,
    retries: 3,
    startPeriodMs: 0,
  });
  t.deepEqual(row?.restart, { condition: 'on-failure', delayMs: 1000, maxAttempts: 5, windowMs: 0 });
  t.is(row?.stopGracePeriodMs, 0);
});

test('service inspect: a JSON array; an unknown ref is reported and exits 1', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const web = fake.addService({ name: 'web', replicas: 2, env: ['A=1'] });
  const ok = await shoal(['service', 'inspect', 'web'], host);
  t.is(ok.code, 0, ok.stderr);
  const rows = JSON.parse(ok.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 1);
  t.like(rows[0], { id: web.id, name: 'web', replicas: 2, running: 2, env: ['A=1'] });
  const partial = await shoal(['service', 'inspect', web.id.slice(0, 6), 'nope'], host);
  t.is(partial.code, 1);
  t.is((JSON.parse(partial.stdout) as unknown[]).length, 1);
  t.is(partial.stderr, 'shoal: service "nope" not found\n');
});
