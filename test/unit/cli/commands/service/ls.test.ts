// cli/commands/service/ls.ts: the table, and `service ls` through the real cli/bin/shoal.
import test from 'ava';
import { serviceTable } from '../../../../../cli/commands/service/ls.js';
import { serviceRow } from '../../../../../cli/commands/service/rows.js';
import { PublishMode, type Service, ServiceMode } from '../../../../../proto/gen/shoal.js';
import { fullSpec, NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';
import { serviceLs } from '../../../../../cli/commands/service/ls.js';
import { T0 } from '../../../../helpers/cli-fixtures.js';

test('serviceTable: docker columns, running/desired, ids truncated unless --no-trunc', (t) => {
  const spec = fullSpec({ name: 'web', image: 'busybox:latest', mode: ServiceMode.REPLICATED, replicas: 3 });
  const service: Service = {
    id: 's1cccccccccccccccccccccccc',
    spec,
    specVersion: 2,
    createdAtMs: T0,
    updatedAtMs: T0,
    updateStatus: undefined,
    previousVersions: [],
    hasRegistryAuth: false,
  };
  const row = serviceRow(service, { desired: 3, running: 2, stopping: 1, pendingReason: '' });
  const lines = serviceTable([row]).split('\n');
  t.regex(lines[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(lines[1] ?? '', /^s1cccccccccc +web +replicated +2\/3 +busybox:latest$/);
  t.regex(serviceTable([row], true).split('\n')[1] ?? '', /^s1c{24} /);
});

test('service ls options', (t) => {
  t.like(parseAs(serviceLs, ['service', 'ls']), { format: 'table', quiet: false, noTrunc: false });
  t.like(parseAs(serviceLs, ['service', 'ls', '--format', 'json', '-q', '--no-trunc']), {
    format: 'json',
    quiet: true,
    noTrunc: true,
  });
  t.is(usageError(['service', 'ls', '--format', 'yaml']), 'invalid --format "yaml": expected table or json');
});

// ------------------------------------------------------------------ through shoal

test('service ls: table and JSON rows with running/desired', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const web = fake.addService({ name: 'web', replicas: 3, image: 'nginx', command: ['a', 'b'] });
  fake.addService({ name: 'agent', mode: 1, replicas: 0 });
  fake.statusScript.set('web', [{ desired: 3, running: 2 }]);
  fake.statusScript.set('agent', [{ desired: 2, running: 2 }]);
  const [table, json] = await Promise.all([
    shoal(['service', 'ls'], host),
    shoal(['service', 'ls', '--format', 'json'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(tableLines[1] ?? '', /^\S{12} +agent +global +2\/2 +busybox$/);
  t.regex(tableLines[2] ?? '', /^\S{12} +web +replicated +2\/3 +nginx$/);
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.like(rows[1], { id: web.id, name: 'web', mode: 'replicated', replicas: 3, running: 2, desired: 3, image: 'nginx' });
  t.deepEqual(rows[1]?.command, ['a', 'b']);
  t.deepEqual(rows[1]?.constraints, []);
});

test("service ls: a PORTS column as docker's; ls JSON and inspect carry the ports", async (t) => {
  const { fake, host } = await startFake(t);
  fake.addService({
    name: 'web',
    ports: [
      { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
      { publishedPort: 53, targetPort: 53, protocol: 'udp', publishMode: PublishMode.HOST },
    ],
  });
  fake.addService({ name: 'worker' });
  const [table, json, inspect] = await Promise.all([
    shoal(['service', 'ls'], host),
    shoal(['service', 'ls', '--format', 'json'], host),
    shoal(['service', 'inspect', 'web'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const rows = lines(table.stdout);
  t.regex(rows[0] ?? '', /^ID +NAME +MODE +REPLICAS +IMAGE +PORTS$/);
  t.regex(rows[1] ?? '', /^\S{12} +web +replicated +1\/1 +busybox +\*:8080->80\/tcp, host:53->53\/udp$/);
  t.regex(rows[2] ?? '', /^\S{12} +worker +replicated +1\/1 +busybox$/);
  const ports = [
    { published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' },
    { published: 53, target: 53, protocol: 'udp', mode: 'host' },
  ];
  t.deepEqual((JSON.parse(json.stdout) as Array<{ ports: unknown }>)[0]?.ports, ports);
  t.deepEqual((JSON.parse(json.stdout) as Array<{ ports: unknown }>)[1]?.ports, []);
  t.is(inspect.code, 0, inspect.stderr);
  t.deepEqual((JSON.parse(inspect.stdout) as Array<{ ports: unknown }>)[0]?.ports, ports);
});
