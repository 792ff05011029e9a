// Every command `shoal` knows, assembled from the resource folders: parsing and --help read
// it. A new command goes in its resource's folder (and that folder's index.ts); a new
// resource adds one line here.
import type { Registry } from './command.js';
import { caCommands } from './ca/index.js';
import { configCommands } from './config/index.js';
import { events } from './events/events.js';
import { joinToken } from './join-token/join-token.js';
import { managerCommands } from './manager/index.js';
import { networkCommands } from './network/index.js';
import { nodeCommands } from './node/index.js';
import { secretCommands } from './secret/index.js';
import { serviceCommands } from './service/index.js';
import { stackCommands } from './stack/index.js';

export const REGISTRY: Registry = {
  groups: [
    caCommands,
    configCommands,
    managerCommands,
    networkCommands,
    nodeCommands,
    secretCommands,
    serviceCommands,
    stackCommands,
  ],
  commands: [events, joinToken],
};
