import test from 'ava';
import { ClusterState } from '../../../../manager/store/cluster-state.js';
import { ControlLoop } from '../../../../manager/control-loop.js';
import { validateDefaultSubnet } from '../../../../manager/allocator/allocator.js';
import { makeNode } from '../../../helpers/fixtures.js';

test('--default-network-subnet: a /14 gives 1,000 nodes a distinct /24 each (a /16 holds only 256)', async (t) => {
  const state = new ClusterState();
  for (let i = 0; i < 1000; i++) state.putNode(makeNode(`host${i}`));
  const loop = new ControlLoop(state, () => 1_000, { defaultNetworkSubnet: '10.128.0.0/14' });
  loop.enable();
  loop.pass();
  const def = state.networkByName('shoal')!;
  t.is(def.spec?.subnet, '10.128.0.0/14');
  const subnets = [...state.leases.values()].filter((l) => l.networkId === def.id).map((l) => l.subnet);
  t.is(subnets.length, 1000);
  t.is(new Set(subnets).size, 1000);
  t.true(subnets.includes('10.128.0.0/24'));
  t.true(subnets.includes('10.131.231.0/24')); // the 1,000th
  await loop.close();
});

test('--default-network-subnet: a full default network still leaves later nodes without a lease, never a duplicate', async (t) => {
  const state = new ClusterState();
  for (let i = 0; i < 5; i++) state.putNode(makeNode(`host${i}`));
  const loop = new ControlLoop(state, () => 1_000, { defaultNetworkSubnet: '10.200.0.0/22' });
  loop.enable();
  loop.pass();
  const subnets = [...state.leases.values()].map((l) => l.subnet).sort();
  t.deepEqual(subnets, ['10.200.0.0/24', '10.200.1.0/24', '10.200.2.0/24', '10.200.3.0/24']);
  await loop.close();
});

test('--default-network-subnet: checked (valid CIDR, /8../24, clear of the 10.43-10.99 pool)', (t) => {
  t.is(validateDefaultSubnet('10.128.0.0/14'), '10.128.0.0/14');
  t.is(validateDefaultSubnet('10.42.0.0/16'), '10.42.0.0/16');
  t.throws(() => validateDefaultSubnet('10.40.0.0/13'), { message: /overlaps the pool/ });
  t.throws(() => validateDefaultSubnet('10.128.0.0/25'), { message: /must be between \/8 and \/24/ });
  t.throws(() => validateDefaultSubnet('10.0.0.0/7'), { message: /must be between \/8 and \/24/ });
  t.throws(() => validateDefaultSubnet('10.128.0.1/14'), { message: /host bits are set/ });
});
