import test from 'ava';
import { NodeStatus, ServiceMode } from '../../../../proto/gen/shoal.js';
import { TaskState } from '../../../../proto/task-state.js';
import { vtepMac } from '../../../../manager/allocator/allocator.js';
import { Core, makeNode, makeSpec } from '../../../helpers/fixtures.js';

const three = () => [makeNode('host1'), makeNode('host2'), makeNode('host3')];
const netSpec = (name: string, subnet = '') => ({ spec: { name, subnet, labels: {} } });

test('the default network gives every node its own /24', async (t) => {
  const core = new Core(three());
  core.settle();
  const def = core.state.networkByName('shoal')!;
  t.truthy(def);
  t.true(def.isDefault);
  t.is(def.spec?.subnet, '10.42.0.0/16');
  const leases = [...core.state.leases.values()].filter((l) => l.networkId === def.id);
  t.is(leases.length, 3);
  t.is(new Set(leases.map((l) => l.subnet)).size, 3);
  t.deepEqual(leases.map((l) => l.subnet).sort(), ['10.42.0.0/24', '10.42.1.0/24', '10.42.2.0/24']);
  for (const l of leases) t.is(l.vtepMac, vtepMac(l.nodeId, def.vni));
  t.regex(leases[0]!.vtepMac, /^02(:[0-9a-f]{2}){5}$/);
  await core.close();
});

test('services join the default network unless they name one; unknown networks are refused', async (t) => {
  const core = new Core(three());
  core.settle();
  const s = await core.api.createService({ spec: makeSpec('web') });
  t.deepEqual(s.spec?.networks, ['shoal']);
  await t.throwsAsync(core.api.createService({ spec: makeSpec('x', { networks: ['nosuch'] }) }), {
    message: 'network "nosuch" not found',
  });
  await core.close();
});

test('network create: next free /16, or the subnet asked for; overlaps and bad CIDRs refused', async (t) => {
  const core = new Core(three());
  core.settle();
  const a = await core.api.createNetwork(netSpec('a'));
  t.is(a.spec?.subnet, '10.43.0.0/16');
  const b = await core.api.createNetwork(netSpec('b', '10.50.0.0/20'));
  t.is(b.spec?.subnet, '10.50.0.0/20');
  t.not(a.vni, b.vni);
  await t.throwsAsync(core.api.createNetwork(netSpec('c', '10.43.8.0/24')), {
    message: 'subnet 10.43.8.0/24 overlaps network a (10.43.0.0/16)',
  });
  await t.throwsAsync(core.api.createNetwork(netSpec('d', '10.60.0.0/28')), {
    message:
      'invalid --subnet "10.60.0.0/28": the prefix length must be between /8 and /24 (each host gets a /24 of it)',
  });
  await t.throwsAsync(core.api.createNetwork(netSpec('e', '10.60.0.1/16')), { message: /host bits are set/ });
  await t.throwsAsync(core.api.createNetwork(netSpec('a')), { message: 'network "a" already exists' });
  core.settle();
  t.is([...core.state.leases.values()].filter((l) => l.networkId === b.id).length, 3);
  await core.close();
});

test('network rm: refused for the default network and while a service uses it', async (t) => {
  const core = new Core(three());
  core.settle();
  await core.api.createNetwork(netSpec('a'));
  await core.api.createService({ spec: makeSpec('web', { networks: ['a'] }) });
  await t.throwsAsync(core.api.removeNetwork({ ref: 'a' }), { message: 'network "a" is in use by service web' });
  await t.throwsAsync(core.api.removeNetwork({ ref: 'shoal' }), { message: /default network/ });
  await core.api.removeService({ ref: 'web' });
  core.settle();
  core.agentsReport();
  await core.api.removeNetwork({ ref: 'a' });
  t.is(core.state.networkByName('a'), undefined);
  core.settle();
  t.is([...core.state.leases.values()].length, 3, 'only the default network leases remain');
  await core.close();
});

test('a full network: the node without a lease is skipped, with the reason', async (t) => {
  const core = new Core(three());
  core.settle();
  await core.api.createNetwork(netSpec('small', '10.70.0.0/23')); // two /24s for three hosts
  core.settle();
  await core.api.createService({ spec: makeSpec('g', { mode: ServiceMode.GLOBAL, networks: ['small'] }) });
  core.settle();
  const tasks = core.live('g');
  t.is(tasks.filter((x) => x.status?.state === TaskState.ASSIGNED).length, 2);
  const pending = tasks.filter((x) => x.status?.state === TaskState.PENDING);
  t.is(pending.length, 1);
  t.is(pending[0]!.status?.err, 'no suitable node (1 node: no free subnet on network small for the node)');
  await core.close();
});

test('node rm: refused while ready, --force releases its subnets and its tasks move', async (t) => {
  const core = new Core(three());
  core.settle();
  await core.api.createService({ spec: makeSpec('web', { replicas: 3 }) });
  core.settle();
  core.agentsReport();
  await t.throwsAsync(core.api.removeNode({ ref: 'host1', force: false }), {
    message: 'node host1 is not down: stop its agent first, or use --force',
  });
  await core.api.removeNode({ ref: 'host1', force: true });
  core.settle();
  t.false(core.state.nodes.has('id-host1'));
  t.false([...core.state.leases.values()].some((l) => l.nodeId === 'id-host1'));
  t.is(core.live('web').length, 3);
  t.true(core.live('web').every((x) => x.nodeId !== 'id-host1'));
  // A down node needs no --force.
  const host2 = core.state.nodes.get('id-host2')!;
  core.state.putNode({ ...host2, status: NodeStatus.DOWN });
  await core.api.removeNode({ ref: 'host2', force: false });
  t.false(core.state.nodes.has('id-host2'));
  await core.close();
});
