// shoal manager ls: the managers and which one leads, by address.
import type { ManagerInfo } from '../../../proto/gen/shoal.js';
import { ago, isoTime, table } from '../../output.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, printList, QUIET } from '../list.js';

export interface ManagerRow {
  id: string;
  /** Where its gRPC services listen. */
  address: string;
  leader: boolean;
  startedAt: string | null;
}

export function managerRow(m: ManagerInfo): ManagerRow {
  return { id: m.id, address: m.address, leader: m.leader, startedAt: isoTime(m.startedAtMs) };
}

export function sortManagerRows(rows: ManagerRow[]): ManagerRow[] {
  return [...rows].sort((a, b) => a.address.localeCompare(b.address) || a.id.localeCompare(b.id));
}

/** LEADER is `Leader` or `Reachable`, like the MANAGER STATUS of `docker node ls`. */
export function managerTable(rows: readonly ManagerRow[], nowMs: number): string {
  return table(
    ['ID', 'ADDRESS', 'LEADER', 'STARTED'],
    rows.map((r) => [r.id, r.address, r.leader ? 'Leader' : 'Reachable', ago(r.startedAt, nowMs)]),
  );
}

export const managerLs: CommandSpec<ListOptions> = {
  name: 'manager ls',
  aliases: ['list'],
  usage: 'shoal manager ls [OPTIONS]',
  summary: 'List the managers and which one leads',
  flags: [FORMAT, QUIET],
  build({ flags, positionals }) {
    noArguments('manager ls', positionals);
    return listOptions(flags);
  },
  async run(options, ctx) {
    const rows = sortManagerRows((await ctx.api.listManagers()).map(managerRow));
    printList(rows, options, (r) => managerTable(r, ctx.now()), ctx);
    return 0;
  },
};
