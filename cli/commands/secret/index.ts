// `shoal secret ...`: create (from a file or stdin), ls, inspect (never the data), rm.
import type { CommandGroup } from '../command.js';
import { objectCommands, secretRow } from './objects.js';

export const secretCommands: CommandGroup = {
  name: 'secret',
  summary: 'Manage secrets (encrypted at rest, on a tmpfs at /run/secrets in containers)',
  commands: objectCommands(
    'secret',
    {
      create: async (ctx, name, labels, data) => ctx.api.createSecret({ name, labels, data }),
      inspect: async (ctx, ref) => secretRow(await ctx.api.getSecret(ref)),
      list: async (ctx) => (await ctx.api.listSecrets()).map(secretRow),
      remove: (ctx, ref) => ctx.api.removeSecret(ref),
    },
    'at most 500 KiB',
  ),
};
