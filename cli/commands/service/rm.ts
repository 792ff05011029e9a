// shoal service rm: each name printed once removed.
import { atLeastOne } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';

export const serviceRm: CommandSpec<{ refs: string[] }> = {
  name: 'service rm',
  aliases: ['remove'],
  usage: 'shoal service rm SERVICE [SERVICE...]',
  summary: 'Remove one or more services',
  flags: [],
  build: ({ positionals }) => ({ refs: atLeastOne('service rm', 'SERVICE', positionals) }),
  async run({ refs }, ctx) {
    const { failed } = await forEachRef(refs, ctx, async (ref) => {
      await ctx.api.removeService(ref);
      ctx.out(ref);
    });
    return failed > 0 ? 1 : 0;
  },
};
