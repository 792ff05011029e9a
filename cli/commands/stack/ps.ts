// shoal stack ps STACK: `service ps`'s rows for every task of the stack's services.
import type { CommandSpec } from '../command.js';
import { FORMAT, type ListOptions, listOptions, NO_TRUNC, printList, QUIET } from '../list.js';
import { sortTaskRows, taskRow, taskTable } from '../service/ps.js';
import { NAMESPACE_LABEL } from './compose/common.js';
import { stackArgument } from './deploy.js';

export const stackPs: CommandSpec<ListOptions & { stack: string }> = {
  name: 'stack ps',
  usage: 'shoal stack ps [OPTIONS] STACK',
  summary: 'List the tasks in the stack',
  flags: [FORMAT, QUIET, NO_TRUNC],
  build: ({ flags, positionals }) => ({ stack: stackArgument('stack ps', positionals), ...listOptions(flags) }),
  async run(options, ctx) {
    const [summaries, nodes] = await Promise.all([ctx.api.listServices(), ctx.api.listNodes()]);
    const services = summaries.flatMap((s) =>
      s.service?.spec?.labels[NAMESPACE_LABEL] === options.stack ? [s.service] : [],
    );
    if (services.length === 0) {
      ctx.err(`Nothing found in stack: ${options.stack}`);
      return 1;
    }
    const tasks = (await Promise.all(services.map((s) => ctx.api.listTasks({ service: s.id })))).flat();
    const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''] as const));
    const rows = sortTaskRows(tasks.map((t) => taskRow(t, hostnames)));
    printList(rows, options, (r) => taskTable(r, ctx.now(), options.noTrunc), ctx);
    return 0;
  },
};
