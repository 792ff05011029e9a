// shoal network create | ls | inspect | rm
import type { Command } from '../args.js';
import { jsonArray, networkInspectRow, networkRow, networkTable, sortNetworkRows } from '../format.js';
import { type CommandContext, type ExitCode, forEachRef } from './context.js';

type Cmd<N extends Command['name']> = Extract<Command, { name: N }>;

export async function networkCreate(cmd: Cmd<'network create'>, ctx: CommandContext): Promise<ExitCode> {
  const network = await ctx.api.createNetwork(cmd.spec);
  ctx.out(network.id);
  return 0;
}

export async function networkLs(cmd: Cmd<'network ls'>, ctx: CommandContext): Promise<ExitCode> {
  const rows = sortNetworkRows((await ctx.api.listNetworks()).map(networkRow));
  if (cmd.quiet) {
    if (rows.length > 0) ctx.out(rows.map((r) => r.id).join('\n'));
  } else {
    ctx.out(cmd.format === 'json' ? jsonArray(rows) : networkTable(rows, cmd.noTrunc));
  }
  return 0;
}

export async function networkInspect(cmd: Cmd<'network inspect'>, ctx: CommandContext): Promise<ExitCode> {
  const { results, failed } = await forEachRef(cmd.refs, ctx, (ref) => ctx.api.getNetwork(ref));
  // Hostnames for the leases: one ListNodes for all of them.
  const nodes = results.some((d) => d.leases.length > 0) ? await ctx.api.listNodes() : [];
  const hostnames = new Map(nodes.map((n) => [n.id, n.description?.hostname ?? ''] as const));
  ctx.out(jsonArray(results.map((d) => networkInspectRow(d, hostnames))));
  return failed > 0 ? 1 : 0;
}

export async function networkRm(cmd: Cmd<'network rm'>, ctx: CommandContext): Promise<ExitCode> {
  const { failed } = await forEachRef(cmd.refs, ctx, async (ref) => {
    await ctx.api.removeNetwork(ref);
    ctx.out(ref);
  });
  return failed > 0 ? 1 : 0;
}
