// shoal service inspect: a JSON array of service rows, with their status.
import { jsonArray } from '../../output.js';
import { atLeastOne, formatFlag } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';
import { INSPECT_FORMAT } from '../list.js';
import { serviceRow } from './rows.js';

export const serviceInspect: CommandSpec<{ refs: string[] }> = {
  name: 'service inspect',
  usage: 'shoal service inspect [OPTIONS] SERVICE [SERVICE...]',
  summary: 'Display detailed information on one or more services (a JSON array)',
  flags: [INSPECT_FORMAT],
  build({ flags, positionals }) {
    formatFlag(flags, ['json']);
    return { refs: atLeastOne('service inspect', 'SERVICE', positionals) };
  },
  async run({ refs }, ctx) {
    const { results, failed } = await forEachRef(refs, ctx, (ref) => ctx.api.getService(ref));
    const statuses = results.length > 0 ? await ctx.api.listServices() : [];
    const statusById = new Map(statuses.map((s) => [s.service?.id ?? '', s.status]));
    ctx.out(jsonArray(results.map((s) => serviceRow(s, statusById.get(s.id)))));
    return failed > 0 ? 1 : 0;
  },
};
