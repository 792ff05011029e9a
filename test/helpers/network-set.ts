// Networks messages for the agent's network tests: network a (vni 4097, 10.42.0.0/16) and
// optionally b (vni 4098, 10.43.0.0/16) with a /24 lease on each of hosts 1..3.
import { NetworksMessage, type SubnetLease } from '../../proto/gen/shoal.js';

/** Host k: its node id, underlay address and VTEP MAC. */
export const H = (k: number) => ({ nodeId: `node${k}`, address: `10.213.0.${10 + k}`, mac: `02:5a:00:00:00:0${k}` });

export function lease(net: string, k: number, third: number): Partial<SubnetLease> {
  return {
    networkId: net,
    nodeId: H(k).nodeId,
    subnet: `10.42.${third}.0/24`,
    nodeAddress: H(k).address,
    vtepMac: H(k).mac,
  };
}

/** Network a (vni 4097, 10.42.0.0/16) on hosts 1..3, with /24s 1, 2, 3; optionally b. */
export function set(opts: { hosts?: number[]; withB?: boolean } = {}): NetworksMessage {
  const hosts = opts.hosts ?? [1, 2, 3];
  return NetworksMessage.fromPartial({
    networks: [
      { id: 'neta', spec: { name: 'a', subnet: '10.42.0.0/16' }, vni: 4097, hostPrefixLen: 24 },
      ...(opts.withB
        ? [{ id: 'netb', spec: { name: 'b', subnet: '10.43.0.0/16' }, vni: 4098, hostPrefixLen: 24 }]
        : []),
    ],
    leases: [
      ...hosts.map((k) => lease('neta', k, k)),
      ...(opts.withB
        ? hosts.map((k) => ({ ...lease('netb', k, k), subnet: `10.43.${k}.0/24`, vtepMac: `02:5b:00:00:00:0${k}` }))
        : []),
    ],
  });
}
