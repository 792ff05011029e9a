// Networks and per-host subnets. The default network exists from the first start; every
// node holds one lease (a /24 of the network's subnet) per network, taken the first time
// the node and the network meet and kept until the node is removed. A network whose
// subnet is full gives nodes no lease, and the scheduler says so for tasks that need it.
import { createHash } from 'node:crypto';
import type { Network, Node, SubnetLease } from '../../proto/gen/shoal.js';
import { newId } from '../../proto/naming.js';
import type { Change, ClusterState } from '../store/cluster-state.js';
import { leaseId } from '../store/cluster-state.js';
import {
  formatCidr,
  HOST_PREFIX_LEN,
  nthSubnet,
  overlaps,
  parseCidr,
  parseNetworkSubnet,
  size,
} from '../../proto/cidr.js';

export const DEFAULT_NETWORK_NAME = 'shoal';
export const DEFAULT_NETWORK_SUBNET = '10.42.0.0/16';
/** The auto pool (10.43-10.99): a --default-network-subnet must stay clear of it. */
export const AUTO_POOL = '10.43.0.0/16 .. 10.99.0.0/16';
/** Networks created without --subnet get the next free /16 from here on. */
const AUTO_SUBNET_FIRST = '10.43.0.0/16';
const AUTO_SUBNET_COUNT = 57; // 10.43 .. 10.99
const DEFAULT_VNI = 4096;

export class AllocationError extends Error {
  override name = 'AllocationError';
}

/** A stable locally administered MAC for a node's VXLAN device on one network. */
export function vtepMac(nodeId: string, vni: number): string {
  const h = createHash('sha256').update(`${nodeId}/${vni}`).digest();
  const bytes = [0x02, h[0]!, h[1]!, h[2]!, h[3]!, h[4]!];
  return bytes.map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/**
 * Checks a subnet for the default network (`--default-network-subnet`, Swarm's
 * `--default-addr-pool`): a network subnet (proto/cidr.ts: /8 to /24) clear of the pool
 * networks without --subnet take theirs from. Returns it normalised; errors name `label`.
 */
export function validateDefaultSubnet(text: string, label = 'subnet'): string {
  const c = parseNetworkSubnet(text, label);
  const first = parseCidr(AUTO_SUBNET_FIRST);
  const pool = { base: first.base, prefix: 16 };
  for (let i = 0; i < AUTO_SUBNET_COUNT; i++) {
    if (overlaps(c, nthSubnet(pool, 16, i)))
      throw new AllocationError(
        `invalid ${label} "${text}": it overlaps the pool for networks created without --subnet (10.43.0.0-10.99.255.255)`,
      );
  }
  return formatCidr(c);
}

export interface AllocatorOptions {
  /** The default network's subnet when it is first created (DEFAULT_NETWORK_SUBNET). */
  defaultNetworkSubnet?: string;
}

export class Allocator {
  private dirty = true;
  private readonly defaultSubnet: string;
  private readonly off: () => void;

  constructor(
    private readonly state: ClusterState,
    private readonly now: () => number = Date.now,
    opts: AllocatorOptions = {},
  ) {
    this.defaultSubnet = opts.defaultNetworkSubnet ?? DEFAULT_NETWORK_SUBNET;
    this.off = state.onChange((c) => this.observe(c));
  }

  /** Stops following the state; idempotent. */
  async close(): Promise<void> {
    this.off();
  }

  get hasWork(): boolean {
    return this.dirty;
  }

  private observe(c: Change): void {
    if (c.kind === 'network' || c.kind === 'lease') this.dirty = true;
    else if (
      c.kind === 'node' &&
      (!c.before || !c.after || c.before.description?.address !== c.after.description?.address)
    )
      this.dirty = true;
  }

  /** Picks a subnet for a new network: the one asked for (if free) or the next free /16. */
  chooseSubnet(asked: string): string {
    const taken = [...this.state.networks.values()].map((n) => parseCidr(n.spec!.subnet));
    if (asked) {
      const c = parseNetworkSubnet(asked, '--subnet');
      const clash = [...this.state.networks.values()].find((n) => overlaps(parseCidr(n.spec!.subnet), c));
      if (clash)
        throw new AllocationError(`subnet ${asked} overlaps network ${clash.spec!.name} (${clash.spec!.subnet})`);
      return formatCidr(c);
    }
    const first = parseCidr(AUTO_SUBNET_FIRST);
    for (let i = 0; i < AUTO_SUBNET_COUNT; i++) {
      const c = nthSubnet(first, 16, i);
      if (!taken.some((t) => overlaps(t, c))) return formatCidr(c);
    }
    throw new AllocationError('no free subnet left in 10.43.0.0-10.99.255.255: give --subnet');
  }

  nextVni(): number {
    const used = new Set([...this.state.networks.values()].map((n) => n.vni));
    let vni = DEFAULT_VNI + 1;
    while (used.has(vni)) vni++;
    return vni;
  }

  ensureDefaultNetwork(): void {
    if ([...this.state.networks.values()].some((n) => n.isDefault)) return;
    this.state.putNetwork({
      id: newId(),
      spec: { name: DEFAULT_NETWORK_NAME, subnet: this.defaultSubnet, labels: {} },
      vni: DEFAULT_VNI,
      hostPrefixLen: HOST_PREFIX_LEN,
      isDefault: true,
      createdAtMs: this.now(),
    });
  }

  /** Gives every node a lease on every network, and drops leases of gone nodes/networks. */
  run(): number {
    this.dirty = false;
    let changes = 0;
    for (const [id, lease] of this.state.leases) {
      if (!this.state.nodes.has(lease.nodeId) || !this.state.networks.has(lease.networkId)) {
        this.state.deleteLease(id);
        changes++;
      }
    }
    for (const network of this.state.networks.values()) {
      let free: FreeSubnets | undefined; // built once per network and run, only when a node needs a lease
      for (const node of this.state.nodes.values()) {
        const existing = this.state.leases.get(leaseId(network.id, node.id));
        const address = node.description?.address ?? '';
        if (existing) {
          if (existing.nodeAddress !== address && address) {
            this.state.putLease({ ...existing, nodeAddress: address });
            changes++;
          }
          continue;
        }
        free ??= this.freeSubnets(network);
        const subnet = free.next();
        if (!subnet) continue; // full: the scheduler explains it to tasks that need it
        this.state.putLease(this.lease(network, node, subnet));
        changes++;
      }
    }
    return changes;
  }

  private lease(network: Network, node: Node, subnet: string): SubnetLease {
    return {
      networkId: network.id,
      nodeId: node.id,
      subnet,
      nodeAddress: node.description?.address ?? '',
      vtepMac: vtepMac(node.id, network.vni),
      createdAtMs: this.now(),
    };
  }

  /**
   * The network's free host subnets in order, as a cursor: O(leases) to build, then O(1)
   * amortised per lease taken (was: O(leases + subnets) per node).
   */
  private freeSubnets(network: Network): FreeSubnets {
    const cluster = parseCidr(network.spec!.subnet);
    const used = new Set<string>();
    for (const l of this.state.leases.values()) if (l.networkId === network.id) used.add(l.subnet);
    const count = size(cluster) / 2 ** (32 - network.hostPrefixLen);
    let i = 0;
    return {
      next: () => {
        for (; i < count; i++) {
          const s = formatCidr(nthSubnet(cluster, network.hostPrefixLen, i));
          if (!used.has(s)) {
            used.add(s);
            i++;
            return s;
          }
        }
        return undefined;
      },
    };
  }
}

interface FreeSubnets {
  next(): string | undefined;
}
