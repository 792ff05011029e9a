// cli/commands/node/update.ts: the UpdateNodeRequest built from the flags; `node update`
// through the real cli/bin/shoal.
import test from 'ava';
import { nodeUpdate } from '../../../../../cli/commands/node/update.js';
import { Availability } from '../../../../../proto/gen/shoal.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('node update', (t) => {
  const { request } = parseAs(nodeUpdate, [
    'node',
    'update',
    '--availability',
    'drain',
    '--label-add',
    'zone=a',
    '--label-add',
    'ssd=',
    '--label-rm',
    'old',
    'host1',
  ]);
  t.deepEqual(request, {
    ref: 'host1',
    availability: Availability.DRAIN,
    labelAdd: { zone: 'a', ssd: '' },
    labelRm: ['old'],
  });
  const labelsOnly = parseAs(nodeUpdate, ['node', 'update', '--label-rm', 'x', 'host1']).request;
  t.false('availability' in labelsOnly, 'availability is left unset when not given');
  t.is(
    parseAs(nodeUpdate, ['node', 'update', '--availability', 'active', 'n']).request.availability,
    Availability.ACTIVE,
  );
  t.is(
    parseAs(nodeUpdate, ['node', 'update', '--availability', 'pause', 'n']).request.availability,
    Availability.PAUSE,
  );

  t.is(
    usageError(['node', 'update', '--availability', 'off', 'n']),
    'invalid --availability "off": expected active, pause or drain',
  );
  t.is(usageError(['node', 'update', '--availability', 'drain']), 'node update requires a NODE');
  t.is(
    usageError(['node', 'update', '--availability', 'drain', 'a', 'b']),
    'node update takes exactly one NODE, got 2',
  );
  t.is(
    usageError(['node', 'update', 'n']),
    'node update needs at least one of --availability, --label-add, --label-rm',
  );
  t.is(usageError(['node', 'update', '--label-add', 'zone', 'n']), 'invalid --label-add "zone": expected KEY=VALUE');
  t.is(usageError(['node', 'update', '--label-rm', 'a=b', 'n']), 'invalid --label-rm "a=b": expected a label KEY');
  t.is(
    usageError(['node', 'update', '--label-add', 'a=1', '--label-rm', 'a', 'n']),
    'label "a" is both added and removed',
  );
});

// ------------------------------------------------------------------ through shoal

test('node update: prints the node; availability and labels on the wire', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const update = await shoal(
    ['node', 'update', '--availability', 'drain', '--label-add', 'zone=b', '--label-rm', 'ssd', 'host1'],
    host,
  );
  t.is(update.code, 0, update.stderr);
  t.is(update.stdout, 'host1\n');
  const call = fake.calls.find((c) => c.method === 'updateNode');
  t.deepEqual(call?.request, {
    ref: 'host1',
    availability: Availability.DRAIN,
    labelAdd: { zone: 'b' },
    labelRm: ['ssd'],
  });
});
