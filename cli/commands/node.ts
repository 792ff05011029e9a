// shoal node ls | inspect | update | rm
import type { Command } from '../args.js';
import { jsonArray, nodeRow, nodeTable, sortNodeRows } from '../format.js';
import { type CommandContext, type ExitCode, forEachRef } from './context.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

export async function nodeLs(cmd: Cmd<'node ls'>, ctx: CommandContext): Promise<ExitCode> {
  const rows = sortNodeRows((await ctx.api.listNodes()).map(nodeRow));
  if (cmd.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(cmd.format === 'json' ? jsonArray(rows) : nodeTable(rows));
  }
  return 0;
}

export async function nodeInspect(cmd: Cmd<'node inspect'>, ctx: CommandContext): Promise<ExitCode> {
  const { results, failed } = await forEachRef(cmd.refs, ctx, (ref) => ctx.api.getNode(ref));
  ctx.out(jsonArray(results.map(nodeRow)));
  return failed > 0 ? 1 : 0;
}

export async function nodeUpdate(cmd: Cmd<'node update'>, ctx: CommandContext): Promise<ExitCode> {
  await ctx.api.updateNode(cmd.request);
  ctx.out(cmd.request.ref);
  return 0;
}

export async function nodeRm(cmd: Cmd<'node rm'>, ctx: CommandContext): Promise<ExitCode> {
  const { failed } = await forEachRef(cmd.refs, ctx, async (ref) => {
    await ctx.api.removeNode(ref, cmd.force);
    ctx.out(ref);
  });
  return failed > 0 ? 1 : 0;
}
