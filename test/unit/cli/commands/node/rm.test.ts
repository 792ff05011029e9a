// cli/commands/node/rm.ts: NODE... and --force; `node rm` through the real cli/bin/shoal.
import test from 'ava';
import { nodeRm } from '../../../../../cli/commands/node/rm.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';

test('node rm: NODE..., --force / -f', (t) => {
  t.deepEqual(parseAs(nodeRm, ['node', 'rm', 'host1', 'host2']), { refs: ['host1', 'host2'], force: false });
  t.true(parseAs(nodeRm, ['node', 'rm', '--force', 'host1']).force);
  t.true(parseAs(nodeRm, ['node', 'remove', '-f', 'host1']).force);
  t.true(parseAs(nodeRm, ['node', 'rm', 'host1', '-f']).force);
  t.is(usageError(['node', 'rm']), 'node rm requires at least one NODE');
  t.is(usageError(['node', 'rm', '--forse', 'n']), 'unknown flag --forse for "node rm"');
});

// ------------------------------------------------------------------ through shoal

test('node rm: a down node goes, one not down needs --force; each ref printed, a refused one is an error line', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const refused = await shoal(['node', 'rm', 'host1', 'host2'], host);
  t.is(refused.code, 1);
  t.is(refused.stdout, 'host2\n');
  t.is(refused.stderr, 'shoal: node host1 is not down: stop its agent first, or use --force\n');
  t.deepEqual(
    fake.nodes.map((n) => n.id),
    [NODE1.id],
  );
  const forced = await shoal(['node', 'rm', '-f', 'host1'], host);
  t.is(forced.code, 0, forced.stderr);
  t.is(forced.stdout, 'host1\n');
  t.deepEqual(fake.nodes, []);
  t.deepEqual(
    fake.calls.filter((c) => c.method === 'removeNode').map((c) => c.request),
    [
      { ref: 'host1', force: false },
      { ref: 'host2', force: false },
      { ref: 'host1', force: true },
    ],
  );
  const missing = await shoal(['node', 'rm', 'nope'], host);
  t.is(missing.code, 1);
  t.is(missing.stderr, 'shoal: node "nope" not found\n');
});
