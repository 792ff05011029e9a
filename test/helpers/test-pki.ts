// A cluster PKI for tests of the CLI against a fake manager: a root CA, a manager's server
// certificate and an admin bundle on disk (SHOAL_CERT_PATH), made once per test process.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerCredentials, type ChannelCredentials } from '@grpc/grpc-js';
import { CertificateAuthority } from '../../manager/security/ca.js';
import { writeBundle, type TlsBundle } from '../../proto/pki/bundle.js';
import { managerCredentials } from '../../proto/pki/grpc-tls.js';
import { newKeyAndCsr, type RoleName } from '../../proto/pki/x509.js';

export const TEST_CLUSTER_ID = 'testcluster0000000000000';

async function bundleFor(ca: CertificateAuthority, id: string, role: RoleName): Promise<TlsBundle> {
  const { keyPem, csrPem } = await newKeyAndCsr();
  const certPem = await ca.sign({ csrPem, id, role, clusterId: TEST_CLUSTER_ID, lifetimeMs: 24 * 3600_000 });
  return { caPem: ca.certPem, certPem, keyPem };
}

const ca = await CertificateAuthority.create(TEST_CLUSTER_ID);
export const SERVER_BUNDLE = await bundleFor(ca, 'fakemanager', 'manager');
export const ADMIN_BUNDLE = await bundleFor(ca, 'admin-test', 'admin');
export const WORKER_BUNDLE = await bundleFor(ca, 'node-test', 'worker');

/** A directory holding the admin bundle (ca.pem, cert.pem, key.pem): the CLI's SHOAL_CERT_PATH. */
export const ADMIN_CERT_PATH = mkdtempSync(join(tmpdir(), 'shoal-test-admin-'));
writeBundle(ADMIN_CERT_PATH, ADMIN_BUNDLE);

/** A fake manager's server credentials: mutual TLS, clients of the test CA only. */
export function fakeManagerServerCredentials(): ServerCredentials {
  return ServerCredentials.createSsl(
    Buffer.from(SERVER_BUNDLE.caPem),
    [{ cert_chain: Buffer.from(SERVER_BUNDLE.certPem), private_key: Buffer.from(SERVER_BUNDLE.keyPem) }],
    true,
  );
}

export function adminTestCredentials(): ChannelCredentials {
  return managerCredentials(ADMIN_BUNDLE);
}

/** A bundle of the test CA for `id` in `role` (e.g. a worker's, written to an agent's STATE/tls). */
export function issueTestBundle(id: string, role: RoleName): Promise<TlsBundle> {
  return bundleFor(ca, id, role);
}
