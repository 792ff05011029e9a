// cli/commands/service/scale.ts: SERVICE=REPLICAS parsed; `service scale` through the real
// cli/bin/shoal.
import test from 'ava';
import { serviceScale } from '../../../../../cli/commands/service/scale.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('service scale', (t) => {
  const cmd = parseAs(serviceScale, ['service', 'scale', 'web=6', 'api=0', '--detach']);
  t.deepEqual(cmd.targets, [
    { ref: 'web', replicas: 6 },
    { ref: 'api', replicas: 0 },
  ]);
  t.is(cmd.wait, undefined);
  t.deepEqual(parseAs(serviceScale, ['service', 'scale', 'web=2', '--timeout', '5s']).wait, { timeoutMs: 5000 });
  t.is(usageError(['service', 'scale']), 'service scale requires at least one SERVICE=REPLICAS');
  t.is(usageError(['service', 'scale', 'web']), 'invalid scale "web": expected SERVICE=REPLICAS');
  t.is(usageError(['service', 'scale', '=3']), 'invalid scale "=3": expected SERVICE=REPLICAS');
  t.is(
    usageError(['service', 'scale', 'web=-1']),
    'invalid scale "web=-1": replicas must be a non-negative integer, got "-1"',
  );
  t.is(usageError(['service', 'scale', 'web=1', 'web=2']), 'service "web" is scaled twice');
});

// ------------------------------------------------------------------ through shoal

test('service scale waits, then prints "NAME scaled to N"', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addService({ name: 'web', replicas: 1 });
  fake.statusScript.set('web', [
    { desired: 3, running: 1 },
    { desired: 3, running: 3, stopping: 0 },
  ]);
  const r = await shoal(['service', 'scale', 'web=3'], host);
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout, 'web scaled to 3\n');
  t.deepEqual(lines(r.stderr), ['web: 1/3 running', 'web: 3/3 running']);
  t.deepEqual(fake.calls[0], { method: 'scaleService', request: { ref: 'web', replicas: 3 } });

  const detached = await shoal(['service', 'scale', '--detach', 'web=0', 'nope=1'], host);
  t.is(detached.code, 1);
  t.is(detached.stdout, 'web scaled to 0\n');
  t.is(detached.stderr, 'shoal: service "nope" not found\n');
});
