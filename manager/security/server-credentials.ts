// Server credentials whose certificate and roots can change while the server runs: a
// renewed certificate or a rotated root reaches new connections at once, and the
// connections already open carry on (no restart of the manager, nothing dropped).
import { ServerCredentials } from '@grpc/grpc-js';
import type { TlsBundle } from '../../proto/pki/bundle.js';

export class RotatingServerCredentials extends ServerCredentials {
  constructor(
    bundle: TlsBundle,
    /** Mutual TLS: a client without a certificate of the cluster's roots is refused at the handshake. */
    readonly requireClientCertificate: boolean,
  ) {
    super({ requestCert: requireClientCertificate, rejectUnauthorized: requireClientCertificate }, contextOf(bundle));
  }

  update(bundle: TlsBundle): void {
    this.updateSecureContextOptions(contextOf(bundle));
  }

  _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

function contextOf(b: TlsBundle) {
  return { ca: Buffer.from(b.caPem), cert: Buffer.from(b.certPem), key: Buffer.from(b.keyPem) };
}
