// `shoal network ...`: the commands, in the order `shoal network --help` lists them.
import type { CommandGroup } from '../command.js';
import { networkCreate } from './create.js';
import { networkInspect } from './inspect.js';
import { networkLs } from './ls.js';
import { networkRm } from './rm.js';

export const networkCommands: CommandGroup = {
  name: 'network',
  summary: 'Manage overlay networks',
  commands: [networkCreate, networkLs, networkInspect, networkRm],
};
