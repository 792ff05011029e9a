// shoal node rm: nodes that are down (or any, with --force), each printed once removed.
import { atLeastOne } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';

export const nodeRm: CommandSpec<{ refs: string[]; force: boolean }> = {
  name: 'node rm',
  aliases: ['remove'],
  usage: 'shoal node rm [OPTIONS] NODE [NODE...]',
  summary: 'Remove one or more nodes that are down, releasing their subnets',
  flags: [{ long: 'force', short: 'f', type: 'boolean', help: 'Remove a node even if it is not down' }],
  build: ({ flags, positionals }) => ({ refs: atLeastOne('node rm', 'NODE', positionals), force: flags.bool('force') }),
  async run({ refs, force }, ctx) {
    const { failed } = await forEachRef(refs, ctx, async (ref) => {
      await ctx.api.removeNode(ref, force);
      ctx.out(ref);
    });
    return failed > 0 ? 1 : 0;
  },
};
