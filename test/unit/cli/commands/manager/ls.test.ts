// cli/commands/manager/ls.ts: manager rows and the table; `manager ls` through the real
// cli/bin/shoal.
import test from 'ava';
import { managerLs, managerRow, managerTable, sortManagerRows } from '../../../../../cli/commands/manager/ls.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { lines, parse, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';
import { T0 } from '../../../../helpers/cli-fixtures.js';

test('managerRow / managerTable: Leader or Reachable, sorted by address', (t) => {
  const rows = sortManagerRows([
    managerRow({ id: 'm2', address: '10.213.0.2:4242', leader: false, startedAtMs: T0 - 90_000 }),
    managerRow({ id: 'm1', address: '10.213.0.1:4242', leader: true, startedAtMs: T0 - 3 * 3_600_000 }),
    managerRow({ id: 'm3', address: '10.213.0.3:4242', leader: false, startedAtMs: 0 }),
  ]);
  t.deepEqual(rows[0], { id: 'm1', address: '10.213.0.1:4242', leader: true, startedAt: '2026-01-02T00:04:05.000Z' });
  t.deepEqual(rows[2], { id: 'm3', address: '10.213.0.3:4242', leader: false, startedAt: null });
  const lines = managerTable(rows, T0).split('\n');
  t.regex(lines[0] ?? '', /^ID +ADDRESS +LEADER +STARTED$/);
  t.regex(lines[1] ?? '', /^m1 +10\.213\.0\.1:4242 +Leader +3 hours ago$/);
  t.regex(lines[2] ?? '', /^m2 +10\.213\.0\.2:4242 +Reachable +2 minutes ago$/);
  t.regex(lines[3] ?? '', /^m3 +10\.213\.0\.3:4242 +Reachable$/);
});

test('manager ls', (t) => {
  t.like(parseAs(managerLs, ['manager', 'ls']), { format: 'table', quiet: false });
  t.like(parseAs(managerLs, ['manager', 'list', '--format', 'json']), { format: 'json' });
  t.like(parseAs(managerLs, ['manager', 'ls', '-q']), { quiet: true });
  t.deepEqual(parse(['manager', 'ls', '--host', 'a:1,b:2']).hosts, ['a:1', 'b:2']);
  t.is(usageError(['manager', 'ls', 'x']), '"manager ls" accepts no arguments, got "x"');
  t.is(usageError(['manager', 'ls', '--format', 'yaml']), 'invalid --format "yaml": expected table or json');
});

// ------------------------------------------------------------------ through shoal

test('manager ls: table with Leader / Reachable, JSON rows, -q', async (t) => {
  const { fake, host } = await startFake(t);
  const now = Date.now();
  fake.managers = [
    { id: 'mgr-b', address: '10.213.0.2:4242', leader: false, startedAtMs: now - 120_000 },
    { id: 'mgr-a', address: '10.213.0.1:4242', leader: true, startedAtMs: now - 3_600_000 },
  ];
  const [table, json, quiet] = await Promise.all([
    shoal(['manager', 'ls'], host),
    shoal(['manager', 'ls', '--format', 'json'], host),
    shoal(['manager', 'ls', '-q'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^ID +ADDRESS +LEADER +STARTED$/);
  t.regex(tableLines[1] ?? '', /^mgr-a +10\.213\.0\.1:4242 +Leader +About an hour ago$/);
  t.regex(tableLines[2] ?? '', /^mgr-b +10\.213\.0\.2:4242 +Reachable +2 minutes ago$/);
  t.deepEqual(JSON.parse(json.stdout), [
    { id: 'mgr-a', address: '10.213.0.1:4242', leader: true, startedAt: new Date(now - 3_600_000).toISOString() },
    { id: 'mgr-b', address: '10.213.0.2:4242', leader: false, startedAt: new Date(now - 120_000).toISOString() },
  ]);
  t.is(quiet.stdout, 'mgr-a\nmgr-b\n');
});
