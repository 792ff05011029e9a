// shoal node inspect: a JSON array of node rows.
import { jsonArray } from '../../output.js';
import { atLeastOne, formatFlag } from '../../parse/values.js';
import { type CommandSpec, forEachRef } from '../command.js';
import { INSPECT_FORMAT } from '../list.js';
import { nodeRow } from './rows.js';

export const nodeInspect: CommandSpec<{ refs: string[] }> = {
  name: 'node inspect',
  usage: 'shoal node inspect [OPTIONS] NODE [NODE...]',
  summary: 'Display detailed information on one or more nodes (a JSON array)',
  flags: [INSPECT_FORMAT],
  build({ flags, positionals }) {
    formatFlag(flags, ['json']);
    return { refs: atLeastOne('node inspect', 'NODE', positionals) };
  },
  async run({ refs }, ctx) {
    const { results, failed } = await forEachRef(refs, ctx, (ref) => ctx.api.getNode(ref));
    ctx.out(jsonArray(results.map(nodeRow)));
    return failed > 0 ? 1 : 0;
  },
};
