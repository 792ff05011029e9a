// shoal manager ls
import type { Command } from '../args.js';
import { jsonArray, managerRow, managerTable, sortManagerRows } from '../format.js';
import type { CommandContext, ExitCode } from './context.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

export async function managerLs(cmd: Cmd<'manager ls'>, ctx: CommandContext): Promise<ExitCode> {
  const rows = sortManagerRows((await ctx.api.listManagers()).map(managerRow));
  if (cmd.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(cmd.format === 'json' ? jsonArray(rows) : managerTable(rows, ctx.now()));
  }
  return 0;
}
