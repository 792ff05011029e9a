// shoal network rm: each name printed once removed (not while a service uses it).
import { atLeastOne } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';

export const networkRm: CommandSpec<{ refs: string[] }> = {
  name: 'network rm',
  aliases: ['remove'],
  usage: 'shoal network rm NETWORK [NETWORK...]',
  summary: 'Remove one or more networks (not while a service uses them)',
  flags: [],
  build: ({ positionals }) => ({ refs: atLeastOne('network rm', 'NETWORK', positionals) }),
  async run({ refs }, ctx) {
    const { failed } = await forEachRef(refs, ctx, async (ref) => {
      await ctx.api.removeNetwork(ref);
      ctx.out(ref);
    });
    return failed > 0 ? 1 : 0;
  },
};
