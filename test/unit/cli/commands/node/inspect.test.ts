// cli/commands/node/inspect.ts: a JSON array of nodes, through the real cli/bin/shoal.
import test from 'ava';
import { nodeInspect } from '../../../../../cli/commands/node/inspect.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('node inspect: NODE...', (t) => {
  t.deepEqual(parseAs(nodeInspect, ['node', 'inspect', 'host1', 'host2']).refs, ['host1', 'host2']);
  t.is(usageError(['node', 'inspect']), 'node inspect requires at least one NODE');
});

test('node inspect: the node as a JSON row', async (t) => {
  const { host } = await startFake(t, [NODE2, NODE1]);
  const inspect = await shoal(['node', 'inspect', 'host2'], host);
  t.like((JSON.parse(inspect.stdout) as unknown[])[0], { id: NODE2.id, status: 'down', availability: 'drain' });
});
