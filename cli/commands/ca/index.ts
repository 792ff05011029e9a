// `shoal ca ...`: the commands, in the order `shoal ca --help` lists them.
import type { CommandGroup } from '../command.js';
import { caInspect } from './inspect.js';
import { caIssue } from './issue.js';
import { caRotate } from './rotate.js';

export const caCommands: CommandGroup = {
  name: 'ca',
  summary: "Manage the cluster's root CA and client certificates",
  commands: [caInspect, caRotate, caIssue],
};
