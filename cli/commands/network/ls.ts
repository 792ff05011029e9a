// shoal network ls: columns NETWORK ID NAME SUBNET VNI DEFAULT SERVICES, by name.
import type { NetworkDetail } from '../../../proto/gen/shoal.js';
import { shortId, table } from '../../output.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';

/** `network ls --format json`: one network, with counts. */
export interface NetworkRow {
  id: string;
  name: string;
  subnet: string;
  vni: number;
  /** The network services join when they name none. */
  default: boolean;
  /** How many services are on it. */
  services: number;
  /** How many hosts hold a subnet lease on it. */
  hosts: number;
}

export function networkRow(detail: NetworkDetail): NetworkRow {
  const n = detail.network;
  return {
    id: n?.id ?? '',
    name: n?.spec?.name ?? '',
    subnet: n?.spec?.subnet ?? '',
    vni: n?.vni ?? 0,
    default: n?.isDefault ?? false,
    services: detail.services.length,
    hosts: new Set(detail.leases.map((l) => l.nodeId)).size,
  };
}

export function sortNetworkRows(rows: NetworkRow[]): NetworkRow[] {
  return [...rows].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

/** Columns `NETWORK ID NAME SUBNET VNI DEFAULT SERVICES`; DEFAULT is `yes` or empty. */
export function networkTable(rows: readonly NetworkRow[], noTrunc = false): string {
  return table(
    ['NETWORK ID', 'NAME', 'SUBNET', 'VNI', 'DEFAULT', 'SERVICES'],
    rows.map((r) => [
      shortId(r.id, noTrunc),
      r.name,
      r.subnet,
      String(r.vni),
      r.default ? 'yes' : '',
      String(r.services),
    ]),
  );
}

export const networkLs: CommandSpec<ListOptions> = {
  name: 'network ls',
  aliases: ['list'],
  usage: 'shoal network ls [OPTIONS]',
  summary: 'List networks',
  flags: [FORMAT, { ...QUIET, help: 'Only print network IDs' }, NO_TRUNC],
  build({ flags, positionals }) {
    noArguments('network ls', positionals);
    return listOptions(flags);
  },
  async run(options, ctx) {
    const rows = sortNetworkRows((await ctx.api.listNetworks()).map(networkRow));
    printList(rows, options, (r) => networkTable(r, options.noTrunc), ctx);
    return 0;
  },
};
