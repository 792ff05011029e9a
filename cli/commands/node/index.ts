// `shoal node ...`: the commands, in the order `shoal node --help` lists them.
import type { CommandGroup } from '../command.js';
import { nodeInspect } from './inspect.js';
import { nodeLs } from './ls.js';
import { nodeRm } from './rm.js';
import { nodeUpdate } from './update.js';

export const nodeCommands: CommandGroup = {
  name: 'node',
  summary: 'Manage the cluster nodes',
  commands: [nodeLs, nodeInspect, nodeUpdate, nodeRm],
};
