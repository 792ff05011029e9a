// shoal service ls: columns ID NAME MODE REPLICAS IMAGE PORTS, by name.
import { shortId, table } from '../../output.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';
import { portsText } from './ports.js';
import { type ServiceRow, serviceRow } from './rows.js';
import { withoutPinnedDigest } from '../../../proto/image-ref.js';

export function sortServiceRows(rows: ServiceRow[]): ServiceRow[] {
  return [...rows].sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
}

export function serviceTable(rows: readonly ServiceRow[], noTrunc = false): string {
  return table(
    ['ID', 'NAME', 'MODE', 'REPLICAS', 'IMAGE', 'PORTS'],
    rows.map((r) => [
      shortId(r.id, noTrunc),
      r.name,
      r.mode,
      `${r.running}/${r.desired}`,
      noTrunc ? r.image : withoutPinnedDigest(r.image),
      portsText(r.ports),
    ]),
  );
}

export const serviceLs: CommandSpec<ListOptions> = {
  name: 'service ls',
  aliases: ['list'],
  usage: 'shoal service ls [OPTIONS]',
  summary: 'List services',
  flags: [FORMAT, QUIET, NO_TRUNC],
  build({ flags, positionals }) {
    noArguments('service ls', positionals);
    return listOptions(flags);
  },
  async run(options, ctx) {
    const summaries = await ctx.api.listServices();
    const rows = sortServiceRows(
      summaries.flatMap((s) => (s.service === undefined ? [] : [serviceRow(s.service, s.status)])),
    );
    printList(rows, options, (r) => serviceTable(r, options.noTrunc), ctx);
    return 0;
  },
};
