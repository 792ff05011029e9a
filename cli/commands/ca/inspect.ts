// shoal ca inspect: the cluster's CA (digest, roots, certificate lifetime, rotation progress).
import type { CAStatus } from '../../../proto/gen/shoal.js';
import { formatDuration } from '../../../proto/duration.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';

export function caSummary(s: CAStatus): string {
  return [
    `Cluster ID:        ${s.clusterId}`,
    `Root CA digest:    ${s.digest}`,
    `Root valid until:  ${new Date(s.rootNotAfterMs).toISOString()}`,
    `Cert expiry:       ${formatDuration(s.certExpiryMs)}`,
    `Rotation:          ${s.rotating ? `under way, ${s.nodesRenewed} of ${s.nodes} nodes renewed` : 'none'}`,
  ].join('\n');
}

export const caInspect: CommandSpec<{ pem: boolean }> = {
  name: 'ca inspect',
  usage: 'shoal ca inspect [OPTIONS]',
  summary: "Display the cluster's root CA",
  flags: [{ long: 'pem', type: 'boolean', help: 'Print the trusted root certificates (PEM) only' }],
  build({ flags, positionals }) {
    noArguments('ca inspect', positionals);
    return { pem: flags.bool('pem') };
  },
  async run({ pem }, ctx) {
    const s = await ctx.api.inspectCa();
    ctx.out(pem ? s.caPem.trimEnd() : caSummary(s));
    return 0;
  },
};
