// cli/commands/node/rows.ts: the node row of `node ls --format json` and `node inspect`.
import test from 'ava';
import { nodeRow } from '../../../../../cli/commands/node/rows.js';
import { Availability, NodeStatus } from '../../../../../proto/gen/shoal.js';
import { hostNode as node } from '../../../../helpers/cli-fixtures.js';

test('nodeRow: lower-case enums, user labels over engine labels, cpus in CPUs', (t) => {
  const row = nodeRow(node);
  t.like(row, {
    id: node.id,
    hostname: 'host1',
    status: 'ready',
    availability: 'drain',
    engineVersion: '27.3.1',
    address: '10.213.0.11',
    cpus: 2,
    memoryBytes: 4 * 1024 ** 3,
    createdAt: '2026-01-02T03:04:05.000Z',
    updatedAt: null,
  });
  t.deepEqual(row.labels, { zone: 'a', disk: 'ssd' });
  t.deepEqual(row.engineLabels, { zone: 'a', disk: 'hdd' });
  t.deepEqual(row.userLabels, { disk: 'ssd' });
  t.like(nodeRow({ ...node, status: NodeStatus.DOWN, availability: Availability.PAUSE }), {
    status: 'down',
    availability: 'pause',
  });
  t.like(nodeRow({ ...node, status: NodeStatus.UNKNOWN, description: undefined }), {
    status: 'unknown',
    hostname: '',
    cpus: 0,
  });
});
