// shoal service rollback SERVICE: back to the service's previous version (again: further
// back, up to 10 versions), rolled out with that version's rollback config.
import { UsageError } from '../../errors.js';
import { durationFlag } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { follow } from './update.js';
import { DETACH, TIMEOUT } from './wait.js';

export interface RollbackOptions {
  ref: string;
  detach: boolean;
  timeoutMs: number | undefined;
}

export const serviceRollback: CommandSpec<RollbackOptions> = {
  name: 'service rollback',
  usage: 'shoal service rollback [OPTIONS] SERVICE',
  summary: "Revert changes to a service's configuration",
  flags: [DETACH, TIMEOUT],
  build({ flags, positionals }) {
    if (positionals.length !== 1) throw new UsageError('service rollback requires exactly one SERVICE');
    return {
      ref: positionals[0]!,
      detach: flags.bool(DETACH.long),
      timeoutMs: durationFlag(flags, TIMEOUT.long, true),
    };
  },
  async run({ ref, detach, timeoutMs }, ctx) {
    const back = await ctx.api.rollbackService(ref);
    ctx.out(back.spec?.name ?? ref);
    return detach ? 0 : follow(undefined, back, timeoutMs, ctx);
  },
};
