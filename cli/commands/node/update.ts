// shoal node update: availability and labels.
import { Availability, type UpdateNodeRequest } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import { checkLabels, checkRef } from '../../../proto/spec-rules.js';
import { asUsage, labelFlags } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';

function parseAvailability(text: string): Availability {
  switch (text) {
    case 'active':
      return Availability.ACTIVE;
    case 'pause':
      return Availability.PAUSE;
    case 'drain':
      return Availability.DRAIN;
    default:
      throw new UsageError(`invalid --availability "${text}": expected active, pause or drain`);
  }
}

export const nodeUpdate: CommandSpec<{ request: UpdateNodeRequest }> = {
  name: 'node update',
  usage: 'shoal node update [OPTIONS] NODE',
  summary: "Update a node's availability or labels",
  flags: [
    { long: 'availability', type: 'string', value: 'AVAILABILITY', help: 'active, pause or drain' },
    { long: 'label-add', type: 'string', value: 'KEY=VALUE', help: 'Add or update a node label (repeatable)' },
    { long: 'label-rm', type: 'string', value: 'KEY', help: 'Remove a node label (repeatable)' },
  ],
  build({ flags, positionals }) {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'node update requires a NODE'
          : `node update takes exactly one NODE, got ${positionals.length}`,
      );
    }
    asUsage(() => checkRef(positionals[0] ?? '', 'node'));
    const availabilityText = flags.string('availability');
    const labelAdd = labelFlags(flags, 'label-add');
    asUsage(() => checkLabels(labelAdd, '--label-add'));
    const labelRm = flags.list('label-rm');
    for (const key of labelRm) {
      if (key === '' || key.includes('=')) throw new UsageError(`invalid --label-rm "${key}": expected a label KEY`);
      if (key in labelAdd) throw new UsageError(`label "${key}" is both added and removed`);
    }
    if (availabilityText === undefined && Object.keys(labelAdd).length === 0 && labelRm.length === 0) {
      throw new UsageError('node update needs at least one of --availability, --label-add, --label-rm');
    }
    const request: UpdateNodeRequest = { ref: positionals[0] ?? '', labelAdd, labelRm };
    if (availabilityText !== undefined) request.availability = parseAvailability(availabilityText);
    return { request };
  },
  async run({ request }, ctx) {
    await ctx.api.updateNode(request);
    ctx.out(request.ref);
    return 0;
  },
};
