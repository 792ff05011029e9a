// Overlay networks on one host (agent/network/) against a fake namespace and a fake engine:
// the exact commands for a 3-host set, idempotence, stale peers deleted by the reconcile,
// isolation rules, removed networks, readiness.
import test from 'ava';
import { TaskState } from '../../../../proto/gen/shoal.js';
import { Agent } from '../../../../agent/agent.js';
import { NetworkController } from '../../../../agent/network/controller.js';
import { makeTask } from '../../../helpers/agent-support.js';
import { until } from '../../../helpers/until.js';
import { FakeDispatcher } from '../../../helpers/fake-dispatcher.js';
import { FakeExecutor } from '../../../helpers/fake-executor.js';
import { FakeDockerNetworks, FakeHost } from '../../../helpers/fake-host.js';
import { H, set } from '../../../helpers/network-set.js';

function setup(mtu = 1400) {
  const host = new FakeHost({ device: 'eth0', address: H(1).address, mtu });
  const docker = new FakeDockerNetworks();
  const lines: string[] = [];
  const ctl = new NetworkController({ runner: host, docker, log: (l) => lines.push(l) });
  return { host, docker, ctl, lines };
}

test('3 hosts: the exact Docker network and commands on a fresh host, MTU from the underlay', async (t) => {
  const { host, docker, ctl } = setup(1400);
  t.is(ctl.dockerNetwork('a'), undefined);
  await ctl.handle(set(), 'node1');
  t.deepEqual(docker.take(), [
    'create shoal-a 10.42.1.0/24 gw 10.42.1.1 {"com.docker.network.bridge.name":"shbr4097","com.docker.network.driver.mtu":"1350"}',
  ]);
  t.deepEqual(host.take(), [
    'ip link add vx4097 address 02:5a:00:00:00:01 mtu 1350 type vxlan id 4097 local 10.213.0.11 dev eth0 dstport 4789 nolearning',
    'ip addr replace 10.42.1.0/32 dev vx4097',
    'ip link set vx4097 up',
    'ip neigh replace 10.42.2.0 lladdr 02:5a:00:00:00:02 dev vx4097 nud permanent',
    'bridge fdb append 02:5a:00:00:00:02 dev vx4097 dst 10.213.0.12 self permanent',
    'ip route replace 10.42.2.0/24 via 10.42.2.0 dev vx4097 onlink',
    'ip neigh replace 10.42.3.0 lladdr 02:5a:00:00:00:03 dev vx4097 nud permanent',
    'bridge fdb append 02:5a:00:00:00:03 dev vx4097 dst 10.213.0.13 self permanent',
    'ip route replace 10.42.3.0/24 via 10.42.3.0 dev vx4097 onlink',
    'iptables -t filter -I DOCKER-USER 1 -i vx4097 ! -o shbr4097 -m comment --comment shoal-overlay -j DROP',
    'iptables -t filter -I DOCKER-USER 1 ! -i shbr4097 -o vx4097 -m comment --comment shoal-overlay -j DROP',
    'iptables -t filter -I DOCKER-USER 1 -i shbr4097 -o vx4097 -m comment --comment shoal-overlay -j ACCEPT',
    'iptables -t filter -I DOCKER-USER 1 -i vx4097 -o shbr4097 -m comment --comment shoal-overlay -j ACCEPT',
    'iptables -t nat -I POSTROUTING 1 -s 10.42.0.0/16 -d 10.42.0.0/16 -m comment --comment shoal-overlay -j RETURN',
  ]);
  t.is(ctl.dockerNetwork('a'), 'shoal-a');
  t.is(ctl.dockerNetwork('b'), undefined);
  await ctl.close();
});

test('idempotent: the same set again (and a reconcile) changes nothing', async (t) => {
  const { host, docker, ctl } = setup();
  await ctl.handle(set({ withB: true }), 'node1');
  host.take();
  docker.take();
  await ctl.handle(set({ withB: true }), 'node1');
  await ctl.reconcile();
  t.deepEqual(host.take(), []);
  t.deepEqual(docker.take(), []);
  // A restarted agent (a new controller over the same host and engine) changes nothing either.
  const again = new NetworkController({ runner: host, docker });
  await again.handle(set({ withB: true }), 'node1');
  t.deepEqual(host.take(), []);
  t.deepEqual(docker.take(), []);
  t.deepEqual(again.readyNetworks(), ['a', 'b']);
  await ctl.close();
  await again.close();
});

test("reconcile deletes a removed host's route, FDB and neighbour entries, and nothing else", async (t) => {
  const { host, ctl } = setup();
  await ctl.handle(set(), 'node1');
  host.take();
  await ctl.handle(set({ hosts: [1, 2] }), 'node1');
  t.deepEqual(host.take(), [
    'ip route del 10.42.3.0/24 dev vx4097',
    'bridge fdb del 02:5a:00:00:00:03 dev vx4097 dst 10.213.0.13 self',
    'ip neigh del 10.42.3.0 dev vx4097',
  ]);
  t.deepEqual([...host.routes.get('vx4097')!.keys()], ['10.42.2.0/24']);
  t.deepEqual(host.fdb.get('vx4097'), [{ mac: '02:5a:00:00:00:02', dst: '10.213.0.12' }]);
  t.deepEqual([...host.neigh.get('vx4097')!.keys()], ['10.42.2.0']);
  await ctl.close();
});

test('reconcile repairs entries changed behind its back (stale FDB of a moved host, lost route)', async (t) => {
  const { host, ctl } = setup();
  await ctl.handle(set(), 'node1');
  host.take();
  host.fdb.get('vx4097')!.push({ mac: '02:5a:00:00:00:09', dst: '10.213.0.19' }); // a host long gone
  host.routes.get('vx4097')!.delete('10.42.2.0/24');
  host.neigh.get('vx4097')!.set('10.42.3.0', '02:5a:00:00:00:99');
  await ctl.reconcile();
  t.deepEqual(host.take().sort(), [
    'bridge fdb del 02:5a:00:00:00:09 dev vx4097 dst 10.213.0.19 self',
    'ip neigh replace 10.42.3.0 lladdr 02:5a:00:00:00:03 dev vx4097 nud permanent',
    'ip route replace 10.42.2.0/24 via 10.42.2.0 dev vx4097 onlink',
  ]);
  await ctl.close();
});

test('isolation: per network, vx<->its bridge accepted, anything else in or out of vx dropped; NAT RETURN stays first', async (t) => {
  const { host, ctl } = setup();
  await ctl.handle(set({ withB: true }), 'node1');
  const ours = (r: string) => r.includes('shoal-overlay');
  const user = host.rules('filter', 'DOCKER-USER');
  t.deepEqual(user.filter(ours).sort(), [
    '! -i shbr4097 -o vx4097 -m comment --comment shoal-overlay -j DROP',
    '! -i shbr4098 -o vx4098 -m comment --comment shoal-overlay -j DROP',
    '-i shbr4097 -o vx4097 -m comment --comment shoal-overlay -j ACCEPT',
    '-i shbr4098 -o vx4098 -m comment --comment shoal-overlay -j ACCEPT',
    '-i vx4097 ! -o shbr4097 -m comment --comment shoal-overlay -j DROP',
    '-i vx4097 -o shbr4097 -m comment --comment shoal-overlay -j ACCEPT',
    '-i vx4098 ! -o shbr4098 -m comment --comment shoal-overlay -j DROP',
    '-i vx4098 -o shbr4098 -m comment --comment shoal-overlay -j ACCEPT',
  ]);
  t.deepEqual(user.slice(8), ['-j RETURN'], "before Docker's RETURN");
  t.deepEqual(host.rules('nat', 'POSTROUTING').slice(0, 2).sort(), [
    '-s 10.42.0.0/16 -d 10.42.0.0/16 -m comment --comment shoal-overlay -j RETURN',
    '-s 10.43.0.0/16 -d 10.43.0.0/16 -m comment --comment shoal-overlay -j RETURN',
  ]);
  // Docker inserts a network's MASQUERADE at the top: the next reconcile moves ours above it.
  host.chains.get('nat POSTROUTING')!.unshift(['-s', '10.42.1.0/24', '!', '-o', 'shbr4097', '-j', 'MASQUERADE']);
  host.take();
  await ctl.reconcile();
  const nat = host.rules('nat', 'POSTROUTING');
  t.true(ours(nat[0]!) && ours(nat[1]!), nat.join('\n'));
  t.is(nat.filter(ours).length, 2, 'no duplicates');
  t.is(nat.length, 4);
  await ctl.close();
});

test('a removed network: its Docker network, device and rules go; one still in use is retried', async (t) => {
  const { host, docker, ctl } = setup();
  await ctl.handle(set({ withB: true }), 'node1');
  host.take();
  docker.take();
  docker.inUse.add('shoal-b');
  await ctl.handle(set(), 'node1');
  t.deepEqual(docker.take(), [], 'in use: kept');
  t.deepEqual(
    host.take().filter((c) => !c.startsWith('iptables')),
    ['ip link del vx4098'],
  );
  t.false(host.rules('filter', 'DOCKER-USER').some((r) => r.includes('4098')));
  t.false(host.rules('nat', 'POSTROUTING').some((r) => r.includes('10.43.')));
  t.is(ctl.dockerNetwork('b'), undefined);
  docker.inUse.delete('shoal-b');
  await ctl.reconcile();
  t.deepEqual(docker.take(), ['remove shoal-b']);
  t.deepEqual(ctl.readyNetworks(), ['a']);
  await ctl.close();
});

test('readiness: waiters are woken; a failure keeps only that network not ready; unsupported', async (t) => {
  const { host, ctl, lines } = setup();
  const woken = ctl.changed(new AbortController().signal);
  host.failing = 'ip link add vx4098';
  await ctl.handle(set({ withB: true }), 'node1');
  await woken;
  t.deepEqual(ctl.readyNetworks(), ['a']);
  t.true(
    lines.some((l) => l.startsWith('network b: ip link add vx4098')),
    lines.join('\n'),
  );
  host.failing = undefined;
  await ctl.reconcile();
  t.deepEqual(ctl.readyNetworks(), ['a', 'b']);
  t.false(ctl.unsupported);
  ctl.setUnsupported(); // a set came: the manager has networks after all
  t.false(ctl.unsupported);
  const other = new NetworkController({ runner: host, docker: new FakeDockerNetworks() });
  other.setUnsupported();
  t.true(other.unsupported);
  await ctl.close();
  await other.close();
});

test('Docker >= 28: the bridge gets gateway_mode_ipv4=nat-unprotected; a Docker network of another subnet is recreated', async (t) => {
  const host = new FakeHost({ device: 'eth0', address: H(1).address, mtu: 1500 });
  const docker = new FakeDockerNetworks(28);
  await docker.create(
    'shoal-a',
    { 'com.docker.network.id': 'x', 'com.shoal.network.id': 'neta' },
    '10.42.9.0/24',
    '10.42.9.1',
    {},
  );
  docker.take();
  const ctl = new NetworkController({ runner: host, docker });
  await ctl.handle(set(), 'node1');
  t.deepEqual(docker.take(), [
    'remove shoal-a',
    'create shoal-a 10.42.1.0/24 gw 10.42.1.1 {"com.docker.network.bridge.name":"shbr4097","com.docker.network.driver.mtu":"1450","com.docker.network.bridge.gateway_mode_ipv4":"nat-unprotected"}',
  ]);
  await ctl.close();
});

// ---------------------------------------------------------------- through a session

test('agent: follows the Networks stream; a manager without it (UNIMPLEMENTED) leaves tasks running as before', async (t) => {
  for (const mode of ['set', 'unimplemented'] as const) {
    const d = new FakeDispatcher(() => 'node1');
    await d.start();
    t.teardown(() => d.stop());
    d.networks = mode === 'set' ? set() : 'unimplemented';
    d.tasks.set('node1', [makeTask('t1')]);
    const { host, ctl } = setup();
    t.teardown(() => ctl.close()); // the agent does not close what it was given
    const agent = new Agent({
      managers: [d.address],
      joinToken: 'x',
      hostname: 'host1',
      labels: {},
      executor: new FakeExecutor(),
      network: ctl,
      retryMinMs: 5,
    });
    t.teardown(() => agent.close());
    agent.start();
    await until(
      () => d.updates.some((u) => u.taskId === 't1' && u.status?.state === TaskState.RUNNING),
      `${mode}: t1 running`,
    );
    if (mode === 'set') {
      await until(() => ctl.readyNetworks().includes('a'), 'network a ready');
      t.true(host.links.has('vx4097'));
      t.is(ctl.mode, 'supported');
    } else {
      await until(() => ctl.unsupported, 'unsupported');
      t.deepEqual(host.take(), [], 'nothing changed on the host');
    }
    t.deepEqual(d.networkStreams, ['node1']);
    await agent.close();
  }
});

test('local leases for discovery: gateway per ready network, subscribers told of every change', async (t) => {
  const { ctl } = setup();
  let calls = 0;
  const off = ctl.subscribe(() => calls++);
  await ctl.handle(set({ withB: true }), 'node1');
  t.deepEqual(ctl.localLeases(), [
    { name: 'a', subnet: '10.42.1.0/24', gateway: '10.42.1.1' },
    { name: 'b', subnet: '10.43.1.0/24', gateway: '10.43.1.1' },
  ]);
  t.is(ctl.gateway('b'), '10.43.1.1');
  t.true(calls >= 1);
  const before = calls;
  await ctl.handle(set({ withB: true }), 'node1');
  t.is(calls, before, 'nothing changed: nobody told');
  await ctl.handle(set(), 'node1');
  t.deepEqual(
    ctl.localLeases().map((l) => l.name),
    ['a'],
  );
  t.is(ctl.gateway('b'), undefined);
  t.is(calls, before + 1);
  off();
  await ctl.close();
});
