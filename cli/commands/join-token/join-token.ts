// shoal join-token [--rotate] [-q] worker|manager: prints (or rotates) a join token and the
// command that joins with it, like `docker swarm join-token`. Rotating never affects nodes
// that joined already.
import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../command.js';

type Role = 'worker' | 'manager';

export interface JoinTokenOptions {
  role: Role;
  rotate: boolean;
  quiet: boolean;
}

export const joinToken: CommandSpec<JoinTokenOptions> = {
  name: 'join-token',
  usage: 'shoal join-token [OPTIONS] (worker|manager)',
  summary: 'Manage the join tokens',
  flags: [
    { long: 'rotate', type: 'boolean', help: 'Rotate the join token (nodes that joined already are not affected)' },
    { long: 'quiet', short: 'q', type: 'boolean', help: 'Only display the token' },
  ],
  build({ flags, positionals }) {
    if (positionals.length !== 1 || (positionals[0] !== 'worker' && positionals[0] !== 'manager'))
      throw new UsageError('"shoal join-token" requires exactly one argument: worker or manager');
    return { role: positionals[0], rotate: flags.bool('rotate'), quiet: flags.bool('quiet') };
  },
  async run({ role, rotate, quiet }, ctx) {
    const tokens = await ctx.api.joinTokens({ [role]: rotate });
    const token = tokens[role];
    if (quiet) {
      ctx.out(token);
      return 0;
    }
    if (rotate) ctx.out(`Successfully rotated ${role} join token.\n`);
    const leader = (await ctx.api.listManagers()).find((m) => m.leader)?.address ?? 'MANAGER:4242';
    ctx.out(
      role === 'worker'
        ? `To add a worker to this cluster, run the following command:\n\n    shoal-agent --manager ${leader} --join-token ${token}\n`
        : `To add a manager to this cluster, run the following command:\n\n    shoal-manager --join ${leader} --join-token ${token} [--etcd-endpoints ...]\n`,
    );
    return 0;
  },
};
