// The full set the manager sends (every network, every host's lease) -> what this host must
// have, per network. Pure: no commands here.
import { formatCidr, formatIp, tryParseCidr } from '../../proto/cidr.js';
import type { NetworksMessage } from '../../proto/gen/shoal.js';

/** VXLAN overhead: what the overlay's MTU is below the underlay's. */
export const VXLAN_OVERHEAD = 50;
export const VXLAN_PORT = 4789;
/** Docker network of shoal network NAME. */
export const DOCKER_PREFIX = 'shoal-';
/** Labels on the Docker networks the agent made. */
export const NET_LABEL = { id: 'com.shoal.network.id', name: 'com.shoal.network.name' } as const;

export function dockerNetworkName(name: string): string {
  return `${DOCKER_PREFIX}${name}`;
}

/** shoal network name of a Docker network name, or undefined when it is not one of ours. */
export function shoalNetworkName(dockerName: string): string | undefined {
  return dockerName.startsWith(DOCKER_PREFIX) ? dockerName.slice(DOCKER_PREFIX.length) : undefined;
}

export const vxlanDevice = (vni: number): string => `vx${vni}`;
/** The Linux bridge of the Docker network (at most 15 characters: "shbr" + up to 8 digits). */
export const bridgeDevice = (vni: number): string => `shbr${vni}`;

export interface Peer {
  nodeId: string;
  /** e.g. 10.42.2.0/24 */
  subnet: string;
  /** The peer's VTEP address on the overlay: the subnet's .0 (e.g. 10.42.2.0). */
  vtepIp: string;
  vtepMac: string;
  /** Underlay address VXLAN packets for the subnet go to. */
  nodeAddress: string;
}

export interface LocalNetwork {
  id: string;
  name: string;
  vni: number;
  /** Cluster subnet, e.g. 10.42.0.0/16. */
  clusterSubnet: string;
  /** This host's lease, e.g. 10.42.3.0/24. */
  subnet: string;
  /** .1 of the lease: the Docker bridge's address. */
  gateway: string;
  /** .0 of the lease, /32 on the VXLAN device. */
  vtepIp: string;
  vtepMac: string;
  /** This host's underlay address (its lease's node_address). */
  localAddress: string;
  dockerName: string;
  vxlan: string;
  bridge: string;
  peers: Peer[];
}

export interface Plan {
  /** Networks this host can build (it has a lease), by name. */
  networks: LocalNetwork[];
  /** Networks in the set without a lease for this host yet (not ready here). */
  unleased: string[];
  /** Every network name in the set. */
  names: Set<string>;
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

export function plan(msg: NetworksMessage, nodeId: string, log: (line: string) => void = () => {}): Plan {
  const networks: LocalNetwork[] = [];
  const unleased: string[] = [];
  const names = new Set<string>();
  const seenVni = new Set<number>();
  for (const n of msg.networks) {
    const name = n.spec?.name ?? '';
    if (name === '') continue;
    names.add(name);
    const cluster = tryParseCidr(n.spec?.subnet ?? '');
    if (cluster === undefined || n.vni <= 0 || n.vni > 0xffffff || seenVni.has(n.vni)) {
      log(`network ${name}: ignored (subnet "${n.spec?.subnet ?? ''}", vni ${n.vni})`);
      unleased.push(name);
      continue;
    }
    seenVni.add(n.vni);
    const leases = msg.leases.filter((l) => l.networkId === n.id);
    const own = leases.find((l) => l.nodeId === nodeId);
    const ownNet = own && tryParseCidr(own.subnet);
    if (own === undefined || ownNet === undefined || !MAC.test(own.vtepMac.toLowerCase()) || own.nodeAddress === '') {
      unleased.push(name);
      continue;
    }
    const peers: Peer[] = [];
    for (const l of leases) {
      if (l.nodeId === nodeId) continue;
      const p = tryParseCidr(l.subnet);
      if (p === undefined || !MAC.test(l.vtepMac.toLowerCase()) || l.nodeAddress === '') {
        log(
          `network ${name}: lease of node ${l.nodeId} ignored (subnet "${l.subnet}", mac "${l.vtepMac}", address "${l.nodeAddress}")`,
        );
        continue;
      }
      peers.push({
        nodeId: l.nodeId,
        subnet: formatCidr(p),
        vtepIp: formatIp(p.base),
        vtepMac: l.vtepMac.toLowerCase(),
        nodeAddress: l.nodeAddress,
      });
    }
    peers.sort((a, b) => a.subnet.localeCompare(b.subnet));
    networks.push({
      id: n.id,
      name,
      vni: n.vni,
      clusterSubnet: formatCidr(cluster),
      subnet: formatCidr(ownNet),
      gateway: formatIp(ownNet.base + 1),
      vtepIp: formatIp(ownNet.base),
      vtepMac: own.vtepMac.toLowerCase(),
      localAddress: own.nodeAddress,
      dockerName: dockerNetworkName(name),
      vxlan: vxlanDevice(n.vni),
      bridge: bridgeDevice(n.vni),
      peers,
    });
  }
  networks.sort((a, b) => a.vni - b.vni);
  return { networks, unleased, names };
}
