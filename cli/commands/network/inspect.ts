// shoal network inspect: a JSON array of networks with their leases (by hostname) and services.
import type { NetworkDetail } from '../../../proto/gen/shoal.js';
import { isoTime, jsonArray } from '../../output.js';
import { atLeastOne, formatFlag } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';
import { INSPECT_FORMAT } from '../list.js';

export interface LeaseRow {
  /** Hostname of the node; its id when the node is unknown (e.g. removed). */
  node: string;
  nodeId: string;
  /** The host's part of the network, e.g. 10.43.7.0/24. */
  subnet: string;
  /** Where VXLAN packets for that subnet go. */
  nodeAddress: string;
}

/** `network inspect`: the network, its leases and its services. */
export interface NetworkInspectRow {
  id: string;
  name: string;
  subnet: string;
  vni: number;
  hostPrefixLen: number;
  default: boolean;
  labels: Record<string, string>;
  createdAt: string | null;
  leases: LeaseRow[];
  services: string[];
}

/** `hostnames` maps node id -> hostname (from ListNodes). Leases by hostname, services by name. */
export function networkInspectRow(detail: NetworkDetail, hostnames: ReadonlyMap<string, string>): NetworkInspectRow {
  const n = detail.network;
  const leases = detail.leases
    .map((l) => ({
      node: hostnames.get(l.nodeId) || l.nodeId,
      nodeId: l.nodeId,
      subnet: l.subnet,
      nodeAddress: l.nodeAddress,
    }))
    .sort(
      (a, b) => a.node.localeCompare(b.node) || a.nodeId.localeCompare(b.nodeId) || a.subnet.localeCompare(b.subnet),
    );
  return {
    id: n?.id ?? '',
    name: n?.spec?.name ?? '',
    subnet: n?.spec?.subnet ?? '',
    vni: n?.vni ?? 0,
    hostPrefixLen: n?.hostPrefixLen ?? 0,
    default: n?.isDefault ?? false,
    labels: { ...(n?.spec?.labels ?? {}) },
    createdAt: isoTime(n?.createdAtMs ?? 0),
    leases,
    services: [...detail.services].sort((a, b) => a.localeCompare(b)),
  };
}

export const networkInspect: CommandSpec<{ refs: string[] }> = {
  name: 'network inspect',
  usage: 'shoal network inspect [OPTIONS] NETWORK [NETWORK...]',
  summary: 'Display detailed information on one or more networks (a JSON array)',
  flags: [INSPECT_FORMAT],
  build({ flags, positionals }) {
    formatFlag(flags, ['json']);
    return { refs: atLeastOne('network inspect', 'NETWORK', positionals) };
  },
  async run({ refs }, ctx) {
    const { results, failed } = await forEachRef(refs, ctx, (ref) => ctx.api.getNetwork(ref));
    // Hostnames for the leases: one ListNodes for all of them.
    const nodes = results.some((d) => d.leases.length > 0) ? await ctx.api.listNodes() : [];
    const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''] as const));
    ctx.out(jsonArray(results.map((d) => networkInspectRow(d, hostnames))));
    return failed > 0 ? 1 : 0;
  },
};
