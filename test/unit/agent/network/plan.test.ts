// A Networks message -> what this host builds (agent/network/plan.ts).
import test from 'ava';
import { plan } from '../../../../agent/network/plan.js';
import { set } from '../../../helpers/network-set.js';

test('plan: own lease, peers sorted, .0 VTEP and .1 gateway, unleased networks not ready', (t) => {
  const msg = set({ withB: true });
  msg.leases = msg.leases.filter((l) => !(l.networkId === 'netb' && l.nodeId === 'node1'));
  const p = plan(msg, 'node1');
  t.deepEqual(p.unleased, ['b']);
  t.is(p.networks.length, 1);
  const a = p.networks[0]!;
  t.like(a, {
    name: 'a',
    subnet: '10.42.1.0/24',
    gateway: '10.42.1.1',
    vtepIp: '10.42.1.0',
    vxlan: 'vx4097',
    bridge: 'shbr4097',
    dockerName: 'shoal-a',
    localAddress: '10.213.0.11',
  });
  t.deepEqual(
    a.peers.map((p) => [p.subnet, p.vtepIp, p.vtepMac, p.nodeAddress]),
    [
      ['10.42.2.0/24', '10.42.2.0', '02:5a:00:00:00:02', '10.213.0.12'],
      ['10.42.3.0/24', '10.42.3.0', '02:5a:00:00:00:03', '10.213.0.13'],
    ],
  );
});
