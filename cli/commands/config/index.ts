// `shoal config ...`: create (from a file or stdin), ls, inspect (with the data, base64), rm.
import type { CommandGroup } from '../command.js';
import { configRow, objectCommands } from '../secret/objects.js';

export const configCommands: CommandGroup = {
  name: 'config',
  summary: 'Manage configs (files placed in containers at their target path)',
  commands: objectCommands(
    'config',
    {
      create: async (ctx, name, labels, data) => ctx.api.createConfig({ name, labels, data }),
      inspect: async (ctx, ref) => configRow(await ctx.api.getConfig(ref), true),
      list: async (ctx) => (await ctx.api.listConfigs()).map((c) => configRow(c)),
      remove: (ctx, ref) => ctx.api.removeConfig(ref),
    },
    'at most 1000 KiB',
  ),
};
