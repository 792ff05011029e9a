// shoal stack services STACK: `service ls`'s rows for the stack's services.
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';
import { serviceTable, sortServiceRows } from '../service/ls.js';
import { serviceRow } from '../service/rows.js';
import { NAMESPACE_LABEL } from './compose/common.js';
import { stackArgument } from './deploy.js';

export const stackServicesCommand: CommandSpec<ListOptions & { stack: string }> = {
  name: 'stack services',
  usage: 'shoal stack services [OPTIONS] STACK',
  summary: 'List the services in the stack',
  flags: [FORMAT, QUIET, NO_TRUNC],
  build: ({ flags, positionals }) => ({ stack: stackArgument('stack services', positionals), ...listOptions(flags) }),
  async run(options, ctx) {
    const summaries = await ctx.api.listServices();
    const rows = sortServiceRows(
      summaries.flatMap((s) =>
        s.service?.spec?.labels[NAMESPACE_LABEL] === options.stack ? [serviceRow(s.service, s.status)] : [],
      ),
    );
    if (rows.length === 0 && options.format === 'table' && !options.quiet) {
      ctx.err(`Nothing found in stack: ${options.stack}`);
      return 0;
    }
    printList(rows, options, (r) => serviceTable(r, options.noTrunc), ctx);
    return 0;
  },
};
