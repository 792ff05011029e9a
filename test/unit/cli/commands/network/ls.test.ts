// cli/commands/network/ls.ts: network rows (with counts) and the table; `network ls` through
// the real cli/bin/shoal.
import test from 'ava';
import { networkLs, networkRow, networkTable, sortNetworkRows } from '../../../../../cli/commands/network/ls.js';
import type { NetworkDetail } from '../../../../../proto/gen/shoal.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { lines, parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';
import { T0, backendNetwork as backend } from '../../../../helpers/cli-fixtures.js';

const ingress: NetworkDetail = {
  network: {
    id: 'netaaaaaaaaaaaaaaaaaaaaaaa',
    spec: { name: 'default', subnet: '10.42.0.0/16', labels: {} },
    vni: 4097,
    hostPrefixLen: 24,
    isDefault: true,
    createdAtMs: T0,
  },
  leases: [],
  services: [],
};

test('networkRow: the ls JSON row, with service and host counts', (t) => {
  t.deepEqual(networkRow(backend), {
    id: 'netbbbbbbbbbbbbbbbbbbbbbbb',
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: 4098,
    default: false,
    services: 2,
    hosts: 2,
  });
  t.like(networkRow(ingress), { default: true, services: 0, hosts: 0 });
  t.like(networkRow({ network: undefined, leases: [], services: [] }), { id: '', name: '', subnet: '', vni: 0 });
});

test('networkTable: NETWORK ID NAME SUBNET VNI DEFAULT SERVICES, sorted by name', (t) => {
  const rows = sortNetworkRows([networkRow(backend), networkRow(ingress)]);
  t.deepEqual(
    rows.map((r) => r.name),
    ['backend', 'default'],
  );
  const out = networkTable(rows).split('\n');
  t.regex(out[0] ?? '', /^NETWORK ID +NAME +SUBNET +VNI +DEFAULT +SERVICES$/);
  t.regex(out[1] ?? '', /^netbbbbbbbbb +backend +10\.50\.0\.0\/16 +4098 {10,}2$/);
  t.regex(out[2] ?? '', /^netaaaaaaaaa +default +10\.42\.0\.0\/16 +4097 +yes +0$/);
  t.regex(networkTable(rows, true).split('\n')[1] ?? '', /^netb{23} /);
});

test('network ls options', (t) => {
  t.like(parseAs(networkLs, ['network', 'ls']), { format: 'table', quiet: false, noTrunc: false });
  t.like(parseAs(networkLs, ['network', 'list', '--format', 'json', '--no-trunc']), {
    format: 'json',
    noTrunc: true,
  });
  t.like(parseAs(networkLs, ['network', 'ls', '-q']), { quiet: true });
  t.is(usageError(['network', 'ls', 'x']), '"network ls" accepts no arguments, got "x"');
});

// ------------------------------------------------------------------ through shoal

test('network ls: table, JSON rows with counts, -q', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const dflt = fake.addNetwork({ name: 'shoal', subnet: '10.42.0.0/16' }, { isDefault: true, vni: 4096 });
  const backend = fake.addNetwork({ name: 'backend', subnet: '10.50.0.0/16' });
  fake.addService({ name: 'web', networks: ['backend'] });
  fake.addService({ name: 'api', networks: ['backend', 'shoal'] });
  fake.addService({ name: 'plain' }); // names none: the default network
  fake.leases = [
    {
      networkId: backend.id,
      nodeId: NODE1.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: 1,
    },
    {
      networkId: backend.id,
      nodeId: NODE2.id,
      subnet: '10.50.1.0/24',
      nodeAddress: '10.213.0.12',
      vtepMac: '02:00:00:00:00:02',
      createdAtMs: 1,
    },
    {
      networkId: dflt.id,
      nodeId: NODE1.id,
      subnet: '10.42.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:03',
      createdAtMs: 1,
    },
  ];
  const [table, json, quiet] = await Promise.all([
    shoal(['network', 'ls'], host),
    shoal(['network', 'ls', '--format', 'json'], host),
    shoal(['network', 'ls', '-q'], host),
  ]);
  t.is(table.code, 0, table.stderr);
  const tableLines = lines(table.stdout);
  t.regex(tableLines[0] ?? '', /^NETWORK ID +NAME +SUBNET +VNI +DEFAULT +SERVICES$/);
  t.regex(
    tableLines[1] ?? '',
    new RegExp(`^${backend.id.slice(0, 12)} +backend +10\\.50\\.0\\.0/16 +${backend.vni} {10,}2$`),
  );
  t.regex(tableLines[2] ?? '', new RegExp(`^${dflt.id.slice(0, 12)} +shoal +10\\.42\\.0\\.0/16 +4096 +yes +2$`));
  t.deepEqual(JSON.parse(json.stdout), [
    {
      id: backend.id,
      name: 'backend',
      subnet: '10.50.0.0/16',
      vni: backend.vni,
      default: false,
      services: 2,
      hosts: 2,
    },
    { id: dflt.id, name: 'shoal', subnet: '10.42.0.0/16', vni: 4096, default: true, services: 2, hosts: 1 },
  ]);
  t.is(quiet.stdout, `${backend.id}\n${dflt.id}\n`);
  fake.networks = [];
  const empty = await shoal(['network', 'ls', '--format', 'json'], host);
  t.is(empty.stdout, '[]\n');
});
