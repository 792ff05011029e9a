// The CLI's client certificate, found like docker finds its own: SHOAL_CERT_PATH (like
// DOCKER_CERT_PATH) holding ca.pem, cert.pem and key.pem; else ~/.shoal; else the manager's
// state directory on this host (/var/lib/shoal/manager, where the first manager writes an
// admin bundle).
import type { ChannelCredentials } from '@grpc/grpc-js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hasBundle, readBundle, type TlsBundle } from '../proto/pki/bundle.js';
import { managerCredentials } from '../proto/pki/grpc-tls.js';
import { certificateInfo } from '../proto/pki/x509.js';
import { CliError } from './errors.js';

export const DEFAULT_MANAGER_STATE_DIR = '/var/lib/shoal/manager';

/** Where the bundle is looked for, in order. */
export function certPathCandidates(env: Readonly<Record<string, string | undefined>>): string[] {
  if (env.SHOAL_CERT_PATH) return [env.SHOAL_CERT_PATH];
  const home = env.HOME ?? homedir();
  return [join(home, '.shoal'), DEFAULT_MANAGER_STATE_DIR];
}

/** The bundle to authenticate with; a clear error when there is none. */
export function findBundle(env: Readonly<Record<string, string | undefined>>): { dir: string; bundle: TlsBundle } {
  const candidates = certPathCandidates(env);
  for (const dir of candidates) {
    if (!hasBundle(dir)) continue;
    let bundle: TlsBundle;
    try {
      bundle = readBundle(dir);
    } catch (err) {
      throw new CliError(`cannot read the client certificate: ${(err as Error).message}`, { cause: err });
    }
    let notAfterMs: number;
    try {
      notAfterMs = certificateInfo(bundle.certPem).notAfterMs;
    } catch (err) {
      throw new CliError(`${dir}/cert.pem: ${(err as Error).message}`, { cause: err });
    }
    if (notAfterMs <= Date.now())
      throw new CliError(
        `the client certificate in ${dir} expired at ${new Date(notAfterMs).toISOString()}: get a new bundle (shoal ca issue, or a manager's state directory)`,
      );
    return { dir, bundle };
  }
  throw new CliError(
    env.SHOAL_CERT_PATH
      ? `no client certificate in SHOAL_CERT_PATH=${env.SHOAL_CERT_PATH} (it needs ca.pem, cert.pem and key.pem)`
      : `no client certificate: set SHOAL_CERT_PATH to a directory with ca.pem, cert.pem and key.pem (looked in ${candidates.join(', ')})`,
  );
}

export function cliCredentials(env: Readonly<Record<string, string | undefined>>): ChannelCredentials {
  return managerCredentials(findBundle(env).bundle);
}
