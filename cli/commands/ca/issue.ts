// shoal ca issue NAME --out DIR: a client bundle for a teammate's CLI (ca.pem, cert.pem,
// key.pem 0600 in DIR, docker's names): the key is made here and never sent; the manager
// signs a certificate with the admin role for CN admin-NAME. Give DIR to the teammate, who
// sets SHOAL_CERT_PATH=DIR.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { writeBundle } from '../../../proto/pki/bundle.js';
import { newKeyAndCsr } from '../../../proto/pki/x509.js';
import { UsageError } from '../../errors.js';
import type { CommandSpec } from '../command.js';

export const caIssue: CommandSpec<{ name: string; out: string }> = {
  name: 'ca issue',
  usage: 'shoal ca issue [OPTIONS] NAME --out DIR',
  summary: "Issue a client certificate bundle for someone's CLI",
  flags: [
    { long: 'out', short: 'o', type: 'string', value: 'DIR', help: 'Where to write ca.pem, cert.pem and key.pem' },
  ],
  build({ flags, positionals }) {
    if (positionals.length !== 1) throw new UsageError('"shoal ca issue" requires exactly one argument: NAME');
    const out = flags.string('out');
    if (!out) throw new UsageError('"shoal ca issue" requires --out DIR');
    if (existsSync(join(out, 'key.pem'))) throw new UsageError(`${out} already holds a key.pem: choose another --out`);
    return { name: positionals[0]!, out };
  },
  async run({ name, out }, ctx) {
    const { keyPem, csrPem } = await newKeyAndCsr();
    const res = await ctx.api.issueClientCertificate(name, csrPem);
    writeBundle(out, { caPem: res.caPem, certPem: res.certPem, keyPem });
    ctx.out(`Wrote a client bundle for admin-${name} to ${out} (use it with SHOAL_CERT_PATH=${out})`);
    return 0;
  },
};
