// The cluster's root CA: makes a root, and signs holders' CSRs into certificates naming
// them (CN = id, OU = role, O = cluster id). Only managers hold the root key (wrapped by
// the cluster key in etcd, see authority-store.ts).
import { randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { KEY_ALGORITHM, MANAGER_SERVER_NAME, toPem, x509, type RoleName } from '../../proto/pki/x509.js';

export const ROOT_LIFETIME_MS = 20 * 365 * 24 * 3600_000;
/** A certificate is valid from a minute before it is made: clocks of hosts differ a little. */
const CLOCK_SKEW_MS = 60_000;

export interface SignRequest {
  csrPem: string;
  id: string;
  role: RoleName;
  clusterId: string;
  lifetimeMs: number;
}

export class CertificateAuthority {
  private constructor(
    readonly certPem: string,
    private readonly key: CryptoKey,
    readonly keyPem: string,
  ) {}

  /** A new self-signed root for a cluster. */
  static async create(clusterId: string, nowMs = Date.now()): Promise<CertificateAuthority> {
    const keys = await webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ['sign', 'verify']);
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=shoal-root-ca, O=${clusterId}`,
      notBefore: new Date(nowMs - CLOCK_SKEW_MS),
      notAfter: new Date(nowMs + ROOT_LIFETIME_MS),
      keys,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
    return new CertificateAuthority(cert.toString('pem'), keys.privateKey, toPem(pkcs8, 'PRIVATE KEY'));
  }

  /** A root from its PEM certificate and PKCS#8 P-256 key (ours, or --external-ca-cert/--external-ca-key). */
  static async load(certPem: string, keyPem: string): Promise<CertificateAuthority> {
    const cert = new X509Certificate(certPem);
    if (!cert.ca) throw new Error('the CA certificate is not a CA (basicConstraints CA:TRUE missing)');
    const der = Buffer.from(keyPem.replace(/-----(BEGIN|END) PRIVATE KEY-----/g, '').replace(/\s+/g, ''), 'base64');
    let key: CryptoKey;
    try {
      key = await webcrypto.subtle.importKey('pkcs8', der, KEY_ALGORITHM, true, ['sign']);
    } catch (err) {
      throw new Error('the CA key must be an unencrypted PKCS#8 ECDSA P-256 key ("BEGIN PRIVATE KEY")', {
        cause: err,
      });
    }
    const ca = new CertificateAuthority(certPem, key, keyPem);
    // The key must be the certificate's: sign something and check it with the certificate.
    const probe = randomBytes(32);
    const sig = await webcrypto.subtle.sign(KEY_ALGORITHM, key, probe);
    const pub = await new x509.X509Certificate(certPem).publicKey.export(KEY_ALGORITHM, ['verify']);
    if (!(await webcrypto.subtle.verify(KEY_ALGORITHM, pub, sig, probe)))
      throw new Error('the CA key does not belong to the CA certificate');
    return ca;
  }

  /** Signs a holder's CSR (its subject is ignored: the request names the holder). */
  async sign(req: SignRequest, nowMs = Date.now()): Promise<string> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(req.csrPem);
    } catch (err) {
      throw new Error('the certificate request is not a PEM PKCS#10 CSR', { cause: err });
    }
    if (!(await csr.verify())) throw new Error('the certificate request is not signed by its own key');
    const issuer = new x509.X509Certificate(this.certPem);
    const notAfter = Math.min(nowMs + req.lifetimeMs, issuer.notAfter.getTime());
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${req.id}, OU=${req.role}, O=${req.clusterId}`,
      issuer: issuer.subject,
      notBefore: new Date(nowMs - CLOCK_SKEW_MS),
      notAfter: new Date(notAfter),
      signingKey: this.key,
      publicKey: csr.publicKey,
      signingAlgorithm: KEY_ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        ...(req.role === 'manager'
          ? [new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: MANAGER_SERVER_NAME }])]
          : []),
        await x509.AuthorityKeyIdentifierExtension.create(issuer),
      ],
    });
    return cert.toString('pem');
  }
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f; // positive
  return b.toString('hex');
}
