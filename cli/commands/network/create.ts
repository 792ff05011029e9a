// shoal network create: NAME, --subnet (proto/cidr.ts's rule, the manager's too), --label.
import { CidrError, formatCidr, HOST_PREFIX_LEN, MIN_NETWORK_PREFIX, parseNetworkSubnet } from '../../../proto/cidr.js';
import type { NetworkSpec } from '../../../proto/gen/shoal.js';
import { UsageError } from '../../errors.js';
import { checkLabels, checkResourceName } from '../../../proto/spec-rules.js';
import { asUsage, labelFlags } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';

/** `network create --subnet`, normalised (`10.043.0.0/16` -> `10.43.0.0/16`). */
export function parseSubnet(text: string): string {
  try {
    return formatCidr(parseNetworkSubnet(text, '--subnet'));
  } catch (err) {
    if (err instanceof CidrError) throw new UsageError(err.message);
    throw err;
  }
}

export const networkCreate: CommandSpec<{ spec: NetworkSpec }> = {
  name: 'network create',
  usage: 'shoal network create [OPTIONS] NETWORK',
  summary: 'Create an overlay network',
  flags: [
    {
      long: 'subnet',
      type: 'string',
      value: 'CIDR',
      help: `Cluster subnet, /${MIN_NETWORK_PREFIX} to /${HOST_PREFIX_LEN} (default: the next free one from the manager's pool)`,
    },
    { long: 'label', short: 'l', type: 'string', value: 'KEY=VALUE', help: 'Set a network label (repeatable)' },
  ],
  build({ flags, positionals }) {
    if (positionals.length !== 1) {
      throw new UsageError(
        positionals.length === 0
          ? 'network create requires a NETWORK name'
          : `network create takes exactly one NETWORK name, got ${positionals.length}`,
      );
    }
    const name = positionals[0] ?? '';
    if (name.trim() === '') throw new UsageError('network create requires a NETWORK name');
    asUsage(() => checkResourceName('network name', name));
    const subnetText = flags.string('subnet');
    const labels = labelFlags(flags, 'label');
    asUsage(() => checkLabels(labels, '--label'));
    return { spec: { name, subnet: subnetText === undefined ? '' : parseSubnet(subnetText), labels } };
  },
  async run({ spec }, ctx) {
    const network = await ctx.api.createNetwork(spec);
    ctx.out(network.id);
    return 0;
  },
};
