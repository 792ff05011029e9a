// cli/commands/node/ls.ts: the table; `node ls` through the real cli/bin/shoal.
import test from 'ava';
import { nodeLs, nodeTable } from '../../../../../cli/commands/node/ls.js';
import { nodeRow } from '../../../../../cli/commands/node/rows.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal } from '../../../../helpers/run-shoal.js';
import { hostNode as node } from '../../../../helpers/cli-fixtures.js';

test('nodeTable: docker columns and capitalisation', (t) => {
  const lines = nodeTable([nodeRow(node)]).split('\n');
  t.regex(lines[0] ?? '', /^ID +HOSTNAME +STATUS +AVAILABILITY +ENGINE VERSION$/);
  t.regex(lines[1] ?? '', /^n1a+ +host1 +Ready +Drain +27\.3\.1$/);
});

test('node ls options', (t) => {
  t.like(parseAs(nodeLs, ['node', 'ls', '--format', 'json']), { format: 'json' });
});

// ------------------------------------------------------------------ through shoal

test('node ls: table and JSON rows', async (t) => {
  const { host } = await startFake(t, [NODE2, NODE1]);
  const [table, json] = await Promise.all([
    shoal(['node', 'ls'], host),
    shoal(['node', 'ls', '--format', 'json'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  t.regex(lines(table.stdout)[1] ?? '', /^node1a+ +host1 +Ready +Active +27\.3\.1$/);
  t.regex(lines(table.stdout)[2] ?? '', /^node2b+ +host2 +Down +Drain +27\.3\.1$/);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.like(rows[0], {
    id: NODE1.id,
    hostname: 'host1',
    status: 'ready',
    availability: 'active',
    engineVersion: '27.3.1',
    address: '10.213.0.11',
    cpus: 2,
    memoryBytes: 2 ** 31,
  });
  t.deepEqual(rows[0]?.labels, { zone: 'a', ssd: 'true' });
});
