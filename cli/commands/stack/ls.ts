// shoal stack ls: NAME SERVICES, one row per stack label found on a service (as docker).
import { table } from '../../output.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, printList } from '../list.js';
import { NAMESPACE_LABEL } from './compose/common.js';

export interface StackRow {
  id: string;
  name: string;
  services: number;
}

export const stackLs: CommandSpec<ListOptions> = {
  name: 'stack ls',
  aliases: ['list'],
  usage: 'shoal stack ls [OPTIONS]',
  summary: 'List stacks',
  flags: [FORMAT],
  build({ flags, positionals }) {
    noArguments('stack ls', positionals);
    return listOptions(flags);
  },
  async run(options, ctx) {
    const counts = new Map<string, number>();
    for (const s of await ctx.api.listServices()) {
      const stack = s.service?.spec?.labels[NAMESPACE_LABEL];
      if (stack !== undefined && stack !== '') counts.set(stack, (counts.get(stack) ?? 0) + 1);
    }
    const rows: StackRow[] = [...counts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, services]) => ({ id: name, name, services }));
    printList(
      rows,
      options,
      (r) =>
        table(
          ['NAME', 'SERVICES'],
          r.map((x) => [x.name, String(x.services)]),
        ),
      ctx,
    );
    return 0;
  },
};
