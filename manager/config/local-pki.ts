// A tiny CA for the manager's embedded etcd: made on the first start in the state directory
// (<state>/etcd-tls/, 0700; keys 0600), reused afterwards, made again when a file is missing
// or a certificate is near its end. The embedded etcd accepts only clients holding a
// certificate of this CA (--client-cert-auth), so another local user cannot read or write
// the store even though etcd listens on 127.0.0.1. This is not the cluster's PKI (that is
// manager/security/): nothing outside this manager ever sees these certificates.
import 'reflect-metadata'; // @peculiar/x509 needs the Reflect polyfill loaded first
import { webcrypto, X509Certificate as NodeX509 } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { privateDir, writeSecret, writePublic } from './private-dir.js';

/** Long enough that a manager never meets it; a start within RENEW_BEFORE_MS of the end makes new ones. */
const VALID_MS = 10 * 365 * 24 * 3600 * 1000;
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
/** Certificates are back-dated a little so a clock a few minutes behind still accepts them. */
const BACKDATE_MS = 60 * 60 * 1000;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

/** PEM text of a CA, a certificate it signed and that certificate's key. */
export interface PemBundle {
  ca: string;
  cert: string;
  key: string;
}

/** The embedded etcd's files: the member (server and peer, both usages) and the manager's client pair. */
export interface LocalPki {
  dir: string;
  caFile: string;
  memberCertFile: string;
  memberKeyFile: string;
  /** What the manager's etcd clients present. */
  client: PemBundle;
}

const FILES = {
  ca: 'ca.pem',
  caKey: 'ca-key.pem',
  member: 'member.pem',
  memberKey: 'member-key.pem',
  client: 'client.pem',
  clientKey: 'client-key.pem',
} as const;

/** Loads <dir>'s CA and certificates, or makes them (all anew) when one is missing or ends soon. */
export async function localPki(dir: string, now = Date.now()): Promise<LocalPki> {
  privateDir(dir);
  const path = (f: keyof typeof FILES) => join(dir, FILES[f]);
  if (!usable([path('ca'), path('member'), path('client')], [path('memberKey'), path('clientKey')], now)) {
    await makeAll(dir, now);
  }
  return {
    dir,
    caFile: path('ca'),
    memberCertFile: path('member'),
    memberKeyFile: path('memberKey'),
    client: {
      ca: readFileSync(path('ca'), 'utf8'),
      cert: readFileSync(path('client'), 'utf8'),
      key: readFileSync(path('clientKey'), 'utf8'),
    },
  };
}

function usable(certs: string[], keys: string[], now: number): boolean {
  if (![...certs, ...keys].every((f) => existsSync(f))) return false;
  try {
    return certs.every((f) => Date.parse(new NodeX509(readFileSync(f)).validTo) - RENEW_BEFORE_MS > now);
  } catch {
    return false; // unreadable or not a certificate: make new ones
  }
}

async function makeAll(dir: string, now: number): Promise<void> {
  const notBefore = new Date(now - BACKDATE_MS);
  const notAfter = new Date(now + VALID_MS);
  const caKeys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=shoal embedded etcd CA',
    notBefore,
    notAfter,
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const issue = async (cn: string, usages: string[], names: x509.JsonGeneralNames | undefined) => {
    const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${cn}`,
      issuer: ca.subject,
      notBefore,
      notAfter,
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(usages),
        ...(names ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        await x509.AuthorityKeyIdentifierExtension.create(ca),
      ],
    });
    return { cert: cert.toString('pem'), key: await keyPem(keys.privateKey) };
  };
  const member = await issue(
    'shoal embedded etcd',
    [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
    [
      { type: 'ip', value: '127.0.0.1' },
      { type: 'dns', value: 'localhost' },
    ],
  );
  const client = await issue('shoal-manager', [x509.ExtendedKeyUsage.clientAuth], undefined);
  writeSecret(join(dir, FILES.caKey), await keyPem(caKeys.privateKey));
  writeSecret(join(dir, FILES.memberKey), member.key);
  writeSecret(join(dir, FILES.clientKey), client.key);
  writePublic(join(dir, FILES.ca), ca.toString('pem'));
  writePublic(join(dir, FILES.member), member.cert);
  writePublic(join(dir, FILES.client), client.cert);
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = b[0]! & 0x7f; // positive
  return Buffer.from(b).toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join('\n')}\n-----END PRIVATE KEY-----\n`;
}
