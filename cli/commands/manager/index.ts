// `shoal manager ...`: the commands, in the order `shoal manager --help` lists them.
import type { CommandGroup } from '../command.js';
import { managerLs } from './ls.js';

export const managerCommands: CommandGroup = {
  name: 'manager',
  summary: 'Manage the cluster managers',
  commands: [managerLs],
};
