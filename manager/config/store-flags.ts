// The manager's flags for an external etcd and NATS with TLS (names as etcdctl's), read and
// checked once at start: a missing, unreadable or wrong file is a one-line error naming the
// flag and the file, before anything starts.
//
//   --etcd-cacert FILE   CA of etcd's server certificate   (env SHOAL_ETCD_CACERT)
//   --etcd-cert FILE     client certificate                (env SHOAL_ETCD_CERT)
//   --etcd-key FILE      its key                           (env SHOAL_ETCD_KEY)
//   --nats-tls-cacert / --nats-tls-cert / --nats-tls-key   (env SHOAL_NATS_TLS_CACERT, ...)
//   --nats-creds FILE    a NATS .creds file (user JWT + seed) (env SHOAL_NATS_CREDS)
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { EtcdTls, NatsAuth } from './connections.js';

/** Spread into the manager's parseArgs options. */
export const STORE_FLAG_OPTIONS = {
  'etcd-cacert': { type: 'string' },
  'etcd-cert': { type: 'string' },
  'etcd-key': { type: 'string' },
  'nats-tls-cacert': { type: 'string' },
  'nats-tls-cert': { type: 'string' },
  'nats-tls-key': { type: 'string' },
  'nats-creds': { type: 'string' },
} as const;

export type StoreFlagValues = Partial<Record<keyof typeof STORE_FLAG_OPTIONS, string>>;

export const STORE_FLAGS_HELP =
  '                     [--etcd-cacert FILE --etcd-cert FILE --etcd-key FILE]\n' +
  '                     [--nats-tls-cacert FILE --nats-tls-cert FILE --nats-tls-key FILE] [--nats-creds FILE]\n' +
  'An external etcd (--etcd-endpoints https://...) is reached with TLS and a client certificate; an\n' +
  'external NATS with TLS and/or a .creds file. Env: SHOAL_ETCD_CACERT, SHOAL_ETCD_CERT, SHOAL_ETCD_KEY,\n' +
  'SHOAL_NATS_TLS_CACERT, SHOAL_NATS_TLS_CERT, SHOAL_NATS_TLS_KEY, SHOAL_NATS_CREDS. The embedded etcd and\n' +
  'NATS listen on 127.0.0.1 only and need credentials the manager keeps in its state dir.\n';

const ENV: Record<keyof typeof STORE_FLAG_OPTIONS, string> = {
  'etcd-cacert': 'SHOAL_ETCD_CACERT',
  'etcd-cert': 'SHOAL_ETCD_CERT',
  'etcd-key': 'SHOAL_ETCD_KEY',
  'nats-tls-cacert': 'SHOAL_NATS_TLS_CACERT',
  'nats-tls-cert': 'SHOAL_NATS_TLS_CERT',
  'nats-tls-key': 'SHOAL_NATS_TLS_KEY',
  'nats-creds': 'SHOAL_NATS_CREDS',
};

export interface StoreSecurity {
  etcdTls?: EtcdTls;
  natsAuth?: NatsAuth;
}

/**
 * Reads the files the flags (or their env variables) name. `etcdEndpoints` / `natsUrl`:
 * the manager's (empty: embedded, which takes none of these flags). Throws one-line errors.
 */
export function storeSecurity(
  values: StoreFlagValues,
  etcdEndpoints: readonly string[],
  natsUrl: string,
  env: NodeJS.ProcessEnv = process.env,
): StoreSecurity {
  const given = (flag: keyof typeof STORE_FLAG_OPTIONS): string | undefined => {
    const v = (values[flag] ?? env[ENV[flag]] ?? '').trim();
    return v === '' ? undefined : v;
  };
  const out: StoreSecurity = {};

  const etcdTls = tlsFiles(given, 'etcd-cacert', 'etcd-cert', 'etcd-key');
  if (etcdTls) {
    if (etcdEndpoints.length === 0)
      throw new Error(
        `--${etcdTls.flag} is for an external etcd (--etcd-endpoints); the embedded etcd makes its own certificates`,
      );
    const plain = etcdEndpoints.find((e) => !e.startsWith('https://'));
    if (plain)
      throw new Error(`--etcd-endpoints ${plain} is not https://: TLS (--${etcdTls.flag}) needs https:// URLs`);
    out.etcdTls = etcdTls.tls;
  }

  const natsTls = tlsFiles(given, 'nats-tls-cacert', 'nats-tls-cert', 'nats-tls-key');
  const credsFile = given('nats-creds');
  if ((natsTls || credsFile) && !natsUrl)
    throw new Error(
      `--${natsTls?.flag ?? 'nats-creds'} is for an external NATS (--nats-url); the embedded NATS has its own password`,
    );
  if (natsTls) out.natsAuth = { tls: natsTls.tls };
  if (credsFile) {
    const creds = readText('nats-creds', credsFile);
    if (!creds.includes('BEGIN NATS USER JWT') || !creds.includes('BEGIN USER NKEY SEED'))
      throw new Error(`--nats-creds ${credsFile}: not a NATS credentials file (no user JWT and nkey seed)`);
    out.natsAuth = { ...out.natsAuth, creds };
  }
  return out;
}

/** A CA, optionally with a client pair; the pair needs the CA and both halves. undefined: none given. */
function tlsFiles(
  given: (flag: keyof typeof STORE_FLAG_OPTIONS) => string | undefined,
  caFlag: keyof typeof STORE_FLAG_OPTIONS,
  certFlag: keyof typeof STORE_FLAG_OPTIONS,
  keyFlag: keyof typeof STORE_FLAG_OPTIONS,
): { tls: EtcdTls; flag: string } | undefined {
  const [caFile, certFile, keyFile] = [given(caFlag), given(certFlag), given(keyFlag)];
  if (!caFile && !certFile && !keyFile) return undefined;
  if (certFile && !keyFile) throw new Error(`--${certFlag} needs --${keyFlag} (the certificate's private key)`);
  if (keyFile && !certFile) throw new Error(`--${keyFlag} needs --${certFlag} (the certificate of that key)`);
  if (!caFile) throw new Error(`--${certFlag} needs --${caFlag} (the CA that signed the server's certificate)`);
  const ca = readText(caFlag, caFile);
  certificate(caFlag, caFile, ca);
  if (!certFile || !keyFile) return { tls: { ca }, flag: caFlag };
  const cert = readText(certFlag, certFile);
  const key = readText(keyFlag, keyFile);
  const x509 = certificate(certFlag, certFile, cert);
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new Error(`--${keyFlag} ${keyFile}: not a PEM private key`);
  }
  if (!x509.checkPrivateKey(privateKey))
    throw new Error(`--${keyFlag} ${keyFile}: not the key of --${certFlag} ${certFile}`);
  if (Date.parse(x509.validTo) < Date.now())
    throw new Error(`--${certFlag} ${certFile}: expired on ${new Date(x509.validTo).toISOString()}`);
  return { tls: { ca, cert, key }, flag: caFlag };
}

function readText(flag: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`--${flag} ${file}: cannot read (${code})`, { cause: err });
  }
}

function certificate(flag: string, file: string, pem: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    throw new Error(`--${flag} ${file}: not a PEM certificate`);
  }
}
