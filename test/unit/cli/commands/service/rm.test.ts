// cli/commands/service/rm.ts: through the real cli/bin/shoal.
import test from 'ava';
import { serviceRm } from '../../../../../cli/commands/service/rm.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('service rm: SERVICE...', (t) => {
  t.deepEqual(parseAs(serviceRm, ['service', 'rm', 'a', 'b']).refs, ['a', 'b']);
  t.is(usageError(['service', 'rm']), 'service rm requires at least one SERVICE');
});

// ------------------------------------------------------------------ through shoal

test('service rm prints each removed name; a missing one is an error line', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addService({ name: 'a' });
  fake.addService({ name: 'b' });
  const r = await shoal(['service', 'rm', 'a', 'nope', 'b'], host);
  t.is(r.code, 1);
  t.is(r.stdout, 'a\nb\n');
  t.is(r.stderr, 'shoal: service "nope" not found\n');
  t.is(fake.services.length, 0);
});
