// cli/commands/network/inspect.ts: the inspect row (leases by hostname, services sorted);
// `network inspect` through the real cli/bin/shoal.
import test from 'ava';
import { networkInspect, networkInspectRow } from '../../../../../cli/commands/network/inspect.js';
import { NODE1, NODE2, startFake } from '../../../../helpers/fake-control.js';
import { parseAs, shoal, usageError } from '../../../../helpers/run-shoal.js';
import { backendNetwork as backend, hostNode as node } from '../../../../helpers/cli-fixtures.js';

test('networkInspectRow: hostnames resolved, leases by host, services sorted', (t) => {
  const row = networkInspectRow(backend, new Map([[node.id, 'host1']]));
  t.deepEqual(row, {
    id: 'netbbbbbbbbbbbbbbbbbbbbbbb',
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: 4098,
    hostPrefixLen: 24,
    default: false,
    labels: { tier: 'db' },
    createdAt: '2026-01-02T03:04:05.000Z',
    leases: [
      { node: 'host1', nodeId: node.id, subnet: '10.50.0.0/24', nodeAddress: '10.213.0.11' },
      // an unknown node (e.g. removed meanwhile): its id
      { node: 'n2', nodeId: 'n2', subnet: '10.50.1.0/24', nodeAddress: '10.213.0.12' },
    ],
    services: ['api', 'web'],
  });
  t.deepEqual(backend.services, ['web', 'api'], 'the message is not changed');
});

test('network inspect options', (t) => {
  t.deepEqual(parseAs(networkInspect, ['network', 'inspect', 'a', 'b']).refs, ['a', 'b']);
  t.is(usageError(['network', 'inspect']), 'network inspect requires at least one NETWORK');
  t.is(usageError(['network', 'inspect', '--format', 'table', 'a']), 'invalid --format "table": expected json');
});

// ------------------------------------------------------------------ through shoal

test('network inspect: leases with hostnames, services; an unknown one is an error line', async (t) => {
  const { fake, host } = await startFake(t, [NODE2, NODE1]);
  const backend = fake.addNetwork({ name: 'backend', subnet: '10.50.0.0/16', labels: { tier: 'db' } });
  fake.addService({ name: 'web', networks: ['backend'] });
  fake.leases = [
    {
      networkId: backend.id,
      nodeId: NODE2.id,
      subnet: '10.50.1.0/24',
      nodeAddress: '10.213.0.12',
      vtepMac: '02:00:00:00:00:02',
      createdAtMs: 1,
    },
    {
      networkId: backend.id,
      nodeId: NODE1.id,
      subnet: '10.50.0.0/24',
      nodeAddress: '10.213.0.11',
      vtepMac: '02:00:00:00:00:01',
      createdAtMs: 1,
    },
  ];
  const r = await shoal(['network', 'inspect', 'backend', 'nope', backend.id.slice(0, 6)], host);
  t.is(r.code, 1);
  t.is(r.stderr, 'shoal: network "nope" not found\n');
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  t.is(rows.length, 2);
  t.deepEqual(rows[0], {
    id: backend.id,
    name: 'backend',
    subnet: '10.50.0.0/16',
    vni: backend.vni,
    hostPrefixLen: 24,
    default: false,
    labels: { tier: 'db' },
    createdAt: '2026-01-01T00:00:00.000Z',
    leases: [
      { node: 'host1', nodeId: NODE1.id, subnet: '10.50.0.0/24', nodeAddress: '10.213.0.11' },
      { node: 'host2', nodeId: NODE2.id, subnet: '10.50.1.0/24', nodeAddress: '10.213.0.12' },
    ],
    services: ['web'],
  });
  t.deepEqual(rows[1], rows[0], 'an id prefix finds it too');
  t.is(fake.count('listNodes'), 1, 'one ListNodes for every lease');
});
