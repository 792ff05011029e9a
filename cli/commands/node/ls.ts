// shoal node ls: columns ID HOSTNAME STATUS AVAILABILITY ENGINE VERSION, by hostname.
import { capitalize, table } from '../../output.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, printList, QUIET } from '../list.js';
import { type NodeRow, nodeRow } from './rows.js';

export function sortNodeRows(rows: NodeRow[]): NodeRow[] {
  return [...rows].sort((a, b) => a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
}

export function nodeTable(rows: readonly NodeRow[]): string {
  return table(
    ['ID', 'HOSTNAME', 'STATUS', 'AVAILABILITY', 'ENGINE VERSION'],
    rows.map((r) => [r.id, r.hostname, capitalize(r.status), capitalize(r.availability), r.engineVersion]),
  );
}

export const nodeLs: CommandSpec<ListOptions> = {
  name: 'node ls',
  aliases: ['list'],
  usage: 'shoal node ls [OPTIONS]',
  summary: 'List nodes in the cluster',
  flags: [FORMAT, QUIET],
  build({ flags, positionals }) {
    noArguments('node ls', positionals);
    return listOptions(flags);
  },
  async run(options, ctx) {
    printList(sortNodeRows((await ctx.api.listNodes()).map(nodeRow)), options, nodeTable, ctx);
    return 0;
  },
};
