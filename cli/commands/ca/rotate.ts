// shoal ca rotate [--ca-cert FILE --ca-key FILE] [--detach]: a new root CA across the cluster,
// without downtime (like `docker swarm ca --rotate`): both roots are trusted while every
// ready node renews onto the new one, then the old one is dropped. Waits and shows progress.
import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors.js';
import { noArguments } from '../../parse/values.js';
import type { CommandSpec } from '../command.js';
import { caSummary } from './inspect.js';

const POLL_MS = 500;
const WAIT_MS = 120_000;

export interface RotateOptions {
  certPem: string;
  keyPem: string;
  detach: boolean;
}

function readPem(flag: string, file: string | undefined): string {
  if (file === undefined) return '';
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--${flag} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
}

export const caRotate: CommandSpec<RotateOptions> = {
  name: 'ca rotate',
  usage: 'shoal ca rotate [OPTIONS]',
  summary: 'Replace the root CA across the cluster without downtime',
  flags: [
    { long: 'ca-cert', type: 'string', value: 'FILE', help: 'An external root certificate (PEM) to rotate to' },
    { long: 'ca-key', type: 'string', value: 'FILE', help: 'Its key (PEM PKCS#8, ECDSA P-256)' },
    { long: 'detach', short: 'd', type: 'boolean', help: 'Do not wait for every node to renew' },
  ],
  build({ flags, positionals }) {
    noArguments('ca rotate', positionals);
    const cert = flags.string('ca-cert');
    const key = flags.string('ca-key');
    if ((cert === undefined) !== (key === undefined)) throw new UsageError('--ca-cert and --ca-key go together');
    return { certPem: readPem('ca-cert', cert), keyPem: readPem('ca-key', key), detach: flags.bool('detach') };
  },
  async run({ certPem, keyPem, detach }, ctx) {
    let s = await ctx.api.rotateCa(certPem, keyPem);
    if (!detach) {
      const end = ctx.clock.now() + WAIT_MS;
      let shown = '';
      while (s.rotating && ctx.clock.now() < end) {
        const line = `rotation progress: ${s.nodesRenewed} of ${s.nodes} nodes renewed`;
        if (line !== shown) ctx.err((shown = line));
        await ctx.clock.sleep(POLL_MS);
        s = await ctx.api.inspectCa();
      }
      if (s.rotating) {
        ctx.err(`shoal: the rotation is still under way after ${WAIT_MS / 1000} s (see shoal ca inspect)`);
        return 1;
      }
    }
    ctx.out(caSummary(s));
    return 0;
  },
};
