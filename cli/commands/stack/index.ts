// `shoal stack ...`: compose files deployed as networks, secrets, configs and services, all
// labelled com.docker.stack.namespace=STACK (a CLI-side idea, as in docker).
import type { CommandGroup } from '../command.js';
import { stackDeploy } from './deploy.js';
import { stackLs } from './ls.js';
import { stackPs } from './ps.js';
import { stackRm } from './rm.js';
import { stackServicesCommand } from './services.js';

export const stackCommands: CommandGroup = {
  name: 'stack',
  summary: 'Manage stacks (applications from compose files)',
  commands: [stackDeploy, stackLs, stackServicesCommand, stackPs, stackRm],
};
