// cli/commands/service/lookup.ts: endpoint rows and their table; `service lookup` through the
// real cli/bin/shoal.
import test from 'ava';
import { endpointRow, endpointTable, serviceLookup } from '../../../../../cli/commands/service/lookup.js';
import { type Endpoint, PublishMode } from '../../../../../proto/gen/shoal.js';
import { startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal } from '../../../../helpers/run-shoal.js';

const TIME = Date.parse('2026-12-01T10:00:00.123Z');

test('endpointTable: a global task is named by its node, IPs per network, health', (t) => {
  const row = endpointRow({
    serviceId: 's',
    serviceName: 'agent',
    taskId: 'tglobalaaaaaaaaaaaaaaaaaa',
    slot: 0,
    nodeId: 'n9zzzzzzzzzzzzzzzzzzzzzzz',
    nodeName: '',
    nodeAddress: '',
    addresses: [],
    ports: [{ publishedPort: 9100, targetPort: 9100, protocol: 'tcp', publishMode: PublishMode.HOST }],
    healthChecked: false,
    registeredAtMs: 0,
  });
  t.like(row, { task: 'agent.n9zzzzzzzzzz', node: 'n9zzzzzzzzzzzzzzzzzzzzzzz', registeredAt: null });
  const [header, line] = endpointTable([row]).split('\n');
  t.regex(header ?? '', /^TASK +ID +NODE +IP +PORTS +HEALTH$/);
  t.regex(line ?? '', /^agent\.n9zzzzzzzzzz +tglobalaaaaa +n9z+ +host:9100->9100\/tcp +no check$/);
});

test('service lookup: one SERVICE, table or json', (t) => {
  t.deepEqual(parseAs(serviceLookup, ['service', 'lookup', 'web']), {
    service: 'web',
    format: 'table',
  });
  t.is(parseAs(serviceLookup, ['service', 'lookup', '--format', 'json', 'web']).format, 'json');
});

// ------------------------------------------------------------------ through shoal

function endpoint(over: Partial<Endpoint>): Endpoint {
  return {
    serviceId: 'svc-web',
    serviceName: 'web',
    taskId: 'task1aaaaaaaaaaaaaaaaaaaaa',
    slot: 1,
    nodeId: 'node1aaaaaaaaaaaaaaaaaaaa',
    nodeName: 'host1',
    nodeAddress: '10.213.0.11',
    addresses: [{ network: 'shoal', ip: '10.42.1.2' }],
    ports: [{ publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS }],
    healthChecked: true,
    registeredAtMs: TIME,
    ...over,
  };
}

test('service lookup: a table by slot, one line per endpoint; JSON rows', async (t) => {
  const { fake, host } = await startFake(t);
  fake.addService({ name: 'web', replicas: 2 });
  fake.endpoints = [
    endpoint({
      taskId: 'task2bbbbbbbbbbbbbbbbbbbbb',
      slot: 2,
      nodeName: 'host2',
      nodeAddress: '10.213.0.12',
      addresses: [
        { network: 'shoal', ip: '10.42.2.3' },
        { network: 'backend', ip: '10.50.2.3' },
      ],
      ports: [
        { publishedPort: 8080, targetPort: 80, protocol: 'tcp', publishMode: PublishMode.INGRESS },
        { publishedPort: 9000, targetPort: 90, protocol: 'udp', publishMode: PublishMode.HOST },
      ],
      healthChecked: false,
    }),
    endpoint({}),
    endpoint({ serviceName: 'other', taskId: 'other' }),
  ];
  const [table, json] = await Promise.all([
    shoal(['service', 'lookup', 'web'], host),
    shoal(['service', 'lookup', 'web', '--format', 'json'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  t.deepEqual(
    lines(table.stdout).map((l) => l.split(/ {2,}/)),
    [
      ['TASK', 'ID', 'NODE', 'IP', 'PORTS', 'HEALTH'],
      ['web.1', 'task1aaaaaaa', 'host1', 'shoal=10.42.1.2', '*:8080->80/tcp', 'healthy'],
      [
        'web.2',
        'task2bbbbbbb',
        'host2',
        'shoal=10.42.2.3,backend=10.50.2.3',
        '*:8080->80/tcp, 10.213.0.12:9000->90/udp',
        'no check',
      ],
    ],
  );
  t.is(json.code, 0, json.stderr);
  const rows = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.deepEqual(rows[0], {
    task: 'web.1',
    taskId: 'task1aaaaaaaaaaaaaaaaaaaaa',
    service: 'web',
    serviceId: 'svc-web',
    slot: 1,
    node: 'host1',
    nodeId: 'node1aaaaaaaaaaaaaaaaaaaa',
    nodeAddress: '10.213.0.11',
    addresses: [{ network: 'shoal', ip: '10.42.1.2' }],
    ports: [{ published: 8080, target: 80, protocol: 'tcp', mode: 'ingress' }],
    healthChecked: true,
    registeredAt: '2026-12-01T10:00:00.123Z',
  });
  t.is(rows[1]?.healthChecked, false);
  t.deepEqual(
    fake.calls.map((c) => [c.method, c.request]),
    [
      ['lookupService', { name: 'web' }],
      ['lookupService', { name: 'web' }],
    ],
  );
});

test('service lookup: no endpoints is a header; an unknown service and bad input exit 1', async (t) => {
  const { fake, host } = await startFake(t);
  fake.addService({ name: 'idle' });
  const [empty, unknown, none, two, format] = await Promise.all([
    shoal(['service', 'lookup', 'idle'], host),
    shoal(['service', 'lookup', 'nope'], host),
    shoal(['service', 'lookup'], host),
    shoal(['service', 'lookup', 'a', 'b'], host),
    shoal(['service', 'lookup', '--format', 'yaml', 'idle'], host),
  ]);
  t.is(empty.code, 0, empty.stderr);
  t.regex(empty.stdout, /^TASK +ID +NODE +IP +PORTS +HEALTH\n$/);
  t.is(unknown.code, 1);
  t.is(unknown.stdout, '');
  t.is(unknown.stderr, 'shoal: no such service: nope\n');
  t.is(none.stderr, 'shoal: service lookup requires a SERVICE\n');
  t.is(two.stderr, 'shoal: service lookup takes exactly one SERVICE, got 2\n');
  t.is(format.stderr, 'shoal: invalid --format "yaml": expected table or json\n');
  t.deepEqual([none.code, two.code, format.code], [1, 1, 1]);
  t.is(fake.count('lookupService'), 2);
});
