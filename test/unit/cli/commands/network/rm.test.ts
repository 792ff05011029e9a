// cli/commands/network/rm.ts: NETWORK...; `network rm` through the real cli/bin/shoal.
import test from 'ava';
import { networkRm } from '../../../../../cli/commands/network/rm.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('network rm: NETWORK..., alias remove', (t) => {
  t.deepEqual(parseAs(networkRm, ['network', 'rm', 'a', 'b']).refs, ['a', 'b']);
  t.deepEqual(parseAs(networkRm, ['network', 'remove', 'a']).refs, ['a']);
  t.is(usageError(['network', 'rm']), 'network rm requires at least one NETWORK');
});

// ------------------------------------------------------------------ through shoal

test("network rm: prints each name; one in use gets the manager's one-line error and exit 1", async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  fake.addNetwork({ name: 'a' });
  fake.addNetwork({ name: 'busy' });
  fake.addNetwork({ name: 'b' });
  fake.addService({ name: 'web', networks: ['busy'] });
  const r = await shoal(['network', 'rm', 'a', 'busy', 'nope', 'b'], host);
  t.is(r.code, 1);
  t.is(r.stdout, 'a\nb\n');
  t.is(r.stderr, 'shoal: network "busy" is in use by service web\nshoal: network "nope" not found\n');
  t.deepEqual(
    fake.networks.map((n) => n.spec?.name),
    ['busy'],
  );
  const stillBusy = await shoal(['network', 'remove', 'busy'], host);
  t.is(stillBusy.code, 1);
  t.is(stillBusy.stderr, 'shoal: network "busy" is in use by service web\n');
  fake.addNetwork({ name: 'shoal' }, { isDefault: true });
  const dflt = await shoal(['network', 'rm', 'shoal'], host);
  t.is(dflt.code, 1);
  t.is(dflt.stderr, 'shoal: network "shoal" is the default network and cannot be removed\n');
  fake.services = [];
  const after = await shoal(['network', 'rm', 'busy'], host);
  t.is(after.code, 0, after.stderr);
  t.deepEqual(
    fake.networks.map((n) => n.spec?.name),
    ['shoal'],
  );
});
