// The manager's TLS flags for an external etcd and NATS: files read once, every mistake a
// one-line error naming the flag and the file; and the real binary exits 1 with that line.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { localPki } from '../../../../manager/config/local-pki.js';
import { storeSecurity, type StoreFlagValues } from '../../../../manager/config/store-flags.js';

const MANAGER_BIN = fileURLToPath(new URL('../../../../manager/bin/shoal-manager', import.meta.url));
const ETCD = ['https://10.0.0.5:2379'];
const NATS = 'tls://10.0.0.5:4222';

const dir = mkdtempSync(join(tmpdir(), 'shoal-store-flags-'));
const f = (name: string) => join(dir, name);
const CREDS =
  '-----BEGIN NATS USER JWT-----\neyJ0eXAiOiJKV1QifQ.e30.sig\n------END NATS USER JWT------\n\n' +
  '-----BEGIN USER NKEY SEED-----\nSUAEXAMPLE\n------END USER NKEY SEED------\n';

test.before(async () => {
  await localPki(dir); // ca.pem, client.pem + client-key.pem, member.pem + member-key.pem
  writeFileSync(f('not-pem.txt'), 'hello\n');
  writeFileSync(f('user.creds'), CREDS);
});
test.after.always(() => rmSync(dir, { recursive: true, force: true }));

const etcdFlags: StoreFlagValues = {
  'etcd-cacert': f('ca.pem'),
  'etcd-cert': f('client.pem'),
  'etcd-key': f('client-key.pem'),
};

function refused(values: StoreFlagValues, endpoints = ETCD, nats = NATS, env: NodeJS.ProcessEnv = {}): string {
  try {
    storeSecurity(values, endpoints, nats, env);
  } catch (err) {
    return (err as Error).message;
  }
  return 'accepted';
}

test('no flags: nothing (plaintext for external ones, the embedded ones bring their own)', (t) => {
  t.deepEqual(storeSecurity({}, [], '', {}), {});
  t.deepEqual(storeSecurity({}, ['http://10.0.0.5:2379'], 'nats://10.0.0.5:4222', {}), {});
});

test('--etcd-cacert/--etcd-cert/--etcd-key: the PEM text of all three', (t) => {
  const s = storeSecurity(etcdFlags, ETCD, '', {});
  t.is(s.etcdTls?.ca, readFileSync(f('ca.pem'), 'utf8'));
  t.is(s.etcdTls?.cert, readFileSync(f('client.pem'), 'utf8'));
  t.is(s.etcdTls?.key, readFileSync(f('client-key.pem'), 'utf8'));
  t.is(s.natsAuth, undefined);
  t.deepEqual(storeSecurity({ 'etcd-cacert': f('ca.pem') }, ETCD, '', {}).etcdTls, {
    ca: readFileSync(f('ca.pem'), 'utf8'),
  });
});

test('the env variables stand in for the flags; a flag wins over its variable', (t) => {
  const env = { SHOAL_ETCD_CACERT: f('ca.pem'), SHOAL_ETCD_CERT: f('client.pem'), SHOAL_ETCD_KEY: f('client-key.pem') };
  t.is(storeSecurity({}, ETCD, '', env).etcdTls?.cert, readFileSync(f('client.pem'), 'utf8'));
  t.is(
    refused({ 'etcd-cacert': f('missing.pem') }, ETCD, '', env),
    `--etcd-cacert ${f('missing.pem')}: cannot read (ENOENT)`,
  );
  const natsEnv = { SHOAL_NATS_TLS_CACERT: f('ca.pem'), SHOAL_NATS_CREDS: f('user.creds') };
  const nats = storeSecurity({}, [], NATS, natsEnv).natsAuth;
  t.is(nats?.tls?.ca, readFileSync(f('ca.pem'), 'utf8'));
  t.is(nats?.creds, CREDS);
});

test('each wrong file or combination is one line naming the flag and the file', (t) => {
  const cases: [StoreFlagValues, string][] = [
    [{ ...etcdFlags, 'etcd-cacert': f('missing.pem') }, `--etcd-cacert ${f('missing.pem')}: cannot read (ENOENT)`],
    [{ ...etcdFlags, 'etcd-cacert': dir }, `--etcd-cacert ${dir}: cannot read (EISDIR)`],
    [{ ...etcdFlags, 'etcd-cacert': f('not-pem.txt') }, `--etcd-cacert ${f('not-pem.txt')}: not a PEM certificate`],
    [{ ...etcdFlags, 'etcd-cert': f('client-key.pem') }, `--etcd-cert ${f('client-key.pem')}: not a PEM certificate`],
    [{ ...etcdFlags, 'etcd-key': f('client.pem') }, `--etcd-key ${f('client.pem')}: not a PEM private key`],
    [
      { ...etcdFlags, 'etcd-key': f('member-key.pem') },
      `--etcd-key ${f('member-key.pem')}: not the key of --etcd-cert ${f('client.pem')}`,
    ],
    [{ ...etcdFlags, 'etcd-key': undefined }, "--etcd-cert needs --etcd-key (the certificate's private key)"],
    [{ ...etcdFlags, 'etcd-cert': undefined }, '--etcd-key needs --etcd-cert (the certificate of that key)'],
    [
      { ...etcdFlags, 'etcd-cacert': undefined },
      "--etcd-cert needs --etcd-cacert (the CA that signed the server's certificate)",
    ],
    [
      { 'nats-creds': f('not-pem.txt') },
      `--nats-creds ${f('not-pem.txt')}: not a NATS credentials file (no user JWT and nkey seed)`,
    ],
    [{ 'nats-creds': f('nope.creds') }, `--nats-creds ${f('nope.creds')}: cannot read (ENOENT)`],
    [
      { 'nats-tls-cacert': f('ca.pem'), 'nats-tls-key': f('client-key.pem') },
      '--nats-tls-key needs --nats-tls-cert (the certificate of that key)',
    ],
  ];
  for (const [values, message] of cases) t.is(refused(values), message);
});

test('TLS flags need the external server they are for, and https:// etcd URLs', (t) => {
  t.is(
    refused(etcdFlags, [], NATS),
    '--etcd-cacert is for an external etcd (--etcd-endpoints); the embedded etcd makes its own certificates',
  );
  t.is(
    refused(etcdFlags, ['https://10.0.0.5:2379', 'http://10.0.0.6:2379'], NATS),
    '--etcd-endpoints http://10.0.0.6:2379 is not https://: TLS (--etcd-cacert) needs https:// URLs',
  );
  t.is(
    refused({ 'nats-creds': f('user.creds') }, ETCD, ''),
    '--nats-creds is for an external NATS (--nats-url); the embedded NATS has its own password',
  );
  t.is(
    refused({ 'nats-tls-cacert': f('ca.pem') }, ETCD, ''),
    '--nats-tls-cacert is for an external NATS (--nats-url); the embedded NATS has its own password',
  );
});

test('shoal-manager with an unreadable --etcd-key prints that one line and exits 1', async (t) => {
  t.timeout(60_000);
  const missing = f('gone-key.pem');
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const args = ['--state-dir', join(dir, 'state'), '--etcd-endpoints', ETCD[0]!, '--nats-url', NATS];
    args.push('--etcd-cacert', f('ca.pem'), '--etcd-cert', f('client.pem'), '--etcd-key', missing);
    execFile(MANAGER_BIN, args, { timeout: 50_000 }, (err, _out, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stderr }),
    );
  });
  t.is(r.code, 1);
  t.is(r.stderr, `shoal-manager: --etcd-key ${missing}: cannot read (ENOENT)\n`);
});
