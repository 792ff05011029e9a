// `shoal service ...`: the commands, in the order `shoal service --help` lists them.
import type { CommandGroup } from '../command.js';
import { serviceCreate } from './create.js';
import { serviceInspect } from './inspect.js';
import { serviceLookup } from './lookup.js';
import { serviceLogs } from './logs.js';
import { serviceLs } from './ls.js';
import { servicePs } from './ps.js';
import { serviceRm } from './rm.js';
import { serviceRollback } from './rollback.js';
import { serviceScale } from './scale.js';
import { serviceUpdate } from './update.js';

export const serviceCommands: CommandGroup = {
  name: 'service',
  summary: 'Manage services',
  commands: [
    serviceCreate,
    serviceLs,
    servicePs,
    serviceInspect,
    serviceScale,
    serviceUpdate,
    serviceRollback,
    serviceRm,
    serviceLookup,
    serviceLogs,
  ],
};
