// A manager's security, start to end: the cluster key (made here by the first manager,
// received by joining with a manager token otherwise), the cluster authority in etcd, this
// manager's own certificate (STATE/tls, renewed at 50-80% of its life), the admin bundle
// for the CLI (STATE/{ca,cert,key}.pem, docker's names), and the server credentials of the
// two ports: mutual TLS (Control, Dispatcher) and the join port (NodeCA, server TLS only).
import { X509Certificate } from 'node:crypto';
import { join } from 'node:path';
import type { ChannelCredentials } from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { hasBundle, readBundle, writeBundle, type TlsBundle } from '../../proto/pki/bundle.js';
import { managerCredentials } from '../../proto/pki/grpc-tls.js';
import { joinAddressOf, joinCluster } from '../../proto/pki/join.js';
import { certificateInfo, newKeyAndCsr, renewDelayMs, splitPem } from '../../proto/pki/x509.js';
import { newId } from '../../proto/naming.js';
import { ClusterAuthority, type AuthorityOptions } from './authority.js';
import { newClusterKey, readClusterKey, writeClusterKey } from './cluster-key.js';
import { RotatingServerCredentials } from './server-credentials.js';

export interface ManagerSecurityConfig {
  stateDir: string;
  hostname: string;
  /** A manager token and a manager's address: this manager joins that cluster. */
  join?: { token: string; address: string };
  certExpiryMs?: number;
  external?: AuthorityOptions['external'];
  log: (line: string) => void;
}

/** The longest a renewal timer waits (setTimeout's limit is about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;
const RENEW_RETRY_MS = 5_000;

export class ManagerSecurity {
  authority!: ClusterAuthority;
  #bundle!: TlsBundle;
  #server!: RotatingServerCredentials;
  #joinServer!: RotatingServerCredentials;
  #renewTimer: NodeJS.Timeout | undefined;
  #closed = false;
  #clientCredentials: ChannelCredentials | undefined;
  /** This manager's id in the cluster (its certificate's CN). */
  id = '';
  /** The cluster key (what a joining manager is given). */
  key: Buffer = Buffer.alloc(0);

  constructor(private readonly config: ManagerSecurityConfig) {}

  get tlsDir(): string {
    return join(this.config.stateDir, 'tls');
  }

  /**
   * The cluster key, joining first when this manager has none and was given a manager
   * token (before etcd: a joining manager may need nothing else from it).
   */
  async clusterKey(): Promise<Buffer> {
    const { stateDir, join: joining, log } = this.config;
    const have = readClusterKey(stateDir);
    if (have) return have;
    if (joining) {
      const joined = await joinCluster(joinAddressOf(joining.address), joining.token, this.config.hostname);
      if (joined.role !== 'manager')
        throw new Error(
          '--join-token is a worker token: a manager joins with the manager token (shoal join-token manager)',
        );
      writeClusterKey(stateDir, joined.clusterKey);
      writeBundle(this.tlsDir, joined.bundle);
      log(`security: joined cluster ${joined.clusterId} as manager ${joined.id}`);
      return joined.clusterKey;
    }
    const key = newClusterKey();
    writeClusterKey(stateDir, key);
    return key;
  }

  async start(etcd: Etcd3): Promise<void> {
    const key = await this.clusterKey();
    this.key = key;
    this.authority = new ClusterAuthority(etcd, key, {
      certExpiryMs: this.config.certExpiryMs,
      external: this.config.external,
      log: this.config.log,
    });
    await this.authority.start();
    this.#bundle = await this.ownBundle();
    this.id = certificateInfo(this.#bundle.certPem).id;
    await this.ensureAdminBundle();
    this.#server = new RotatingServerCredentials(this.#bundle, true);
    this.#joinServer = new RotatingServerCredentials(this.#bundle, false);
    this.authority.on('changed', () => void this.caChanged());
    this.scheduleRenewal();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#renewTimer);
    await this.authority?.close();
  }

  get bundle(): TlsBundle {
    return this.#bundle;
  }

  /** Mutual TLS: Control and Dispatcher. */
  get serverCredentials(): RotatingServerCredentials {
    return this.#server;
  }

  /** Server TLS only: the join port (NodeCA). */
  get joinServerCredentials(): RotatingServerCredentials {
    return this.#joinServer;
  }

  /** This manager as a client of another (forwarding to the leader). */
  clientCredentials(): ChannelCredentials {
    this.#clientCredentials ??= managerCredentials(this.#bundle, this.authority.clusterId);
    return this.#clientCredentials;
  }

  // ------------------------------------------------------------ certificates

  /** The certificate in STATE/tls if it is still this cluster's and trusted; else a new one. */
  private async ownBundle(): Promise<TlsBundle> {
    let id = '';
    if (hasBundle(this.tlsDir)) {
      const b = readBundle(this.tlsDir);
      const info = certificateInfo(b.certPem);
      id = info.id;
      const member = await this.authority.member(info.id);
      if (
        info.clusterId === this.authority.clusterId &&
        info.role === 'manager' &&
        member &&
        info.notAfterMs > Date.now() &&
        this.signedByTrustedRoot(b.certPem)
      )
        return { ...b, caPem: this.authority.caPem };
      if (!member || info.clusterId !== this.authority.clusterId) id = '';
    }
    return this.issueOwn(id || newId());
  }

  private async issueOwn(id: string): Promise<TlsBundle> {
    const { keyPem, csrPem } = await newKeyAndCsr();
    const issued = await this.authority.issue(id, 'manager', csrPem, this.config.hostname);
    const bundle = { caPem: issued.caPem, certPem: issued.certPem, keyPem };
    writeBundle(this.tlsDir, bundle);
    return bundle;
  }

  /** The CLI's bundle in the state directory (SHOAL_CERT_PATH), made once per cluster and root. */
  private async ensureAdminBundle(): Promise<void> {
    const dir = this.config.stateDir;
    if (hasBundle(dir)) {
      const b = readBundle(dir);
      try {
        const info = certificateInfo(b.certPem);
        const halfLife = info.notBeforeMs + (info.notAfterMs - info.notBeforeMs) / 2;
        if (
          info.clusterId === this.authority.clusterId &&
          this.signedBy(b.certPem, this.authority.record.roots[0]!) &&
          Date.now() < halfLife
        ) {
          if (b.caPem !== this.authority.caPem) writeBundle(dir, { ...b, caPem: this.authority.caPem });
          return;
        }
      } catch {
        // not ours: replaced below
      }
    }
    const { keyPem, csrPem } = await newKeyAndCsr();
    const issued = await this.authority.issue(`admin-${this.id}`, 'admin', csrPem);
    writeBundle(dir, { caPem: issued.caPem, certPem: issued.certPem, keyPem });
  }

  private scheduleRenewal(delayMs?: number): void {
    if (this.#closed) return;
    clearTimeout(this.#renewTimer);
    const info = certificateInfo(this.#bundle.certPem);
    const wait = delayMs ?? renewDelayMs(info.notBeforeMs, info.notAfterMs, Date.now());
    this.#renewTimer = setTimeout(() => void this.renew(), Math.min(wait, MAX_TIMER_MS));
    this.#renewTimer.unref();
  }

  private async renew(): Promise<void> {
    if (this.#closed) return;
    try {
      const info = certificateInfo(this.#bundle.certPem);
      if (info.notAfterMs - Date.now() > MAX_TIMER_MS && this.signedByTrustedRoot(this.#bundle.certPem)) {
        this.scheduleRenewal();
        return;
      }
      this.#bundle = await this.issueOwn(this.id);
      this.#clientCredentials = undefined;
      this.#server.update(this.#bundle);
      this.#joinServer.update(this.#bundle);
      this.config.log(
        `security: renewed this manager's certificate (valid until ${new Date(certificateInfo(this.#bundle.certPem).notAfterMs).toISOString()})`,
      );
      this.scheduleRenewal();
    } catch (err) {
      this.config.log(`security: cannot renew this manager's certificate: ${(err as Error).message} (retrying)`);
      this.scheduleRenewal(RENEW_RETRY_MS);
    }
  }

  /**
   * The roots changed (a rotation started or finished, seen through etcd): trust what the
   * record trusts now, give the CLI a bundle of the new root, and renew this manager's own
   * certificate once its root is no longer trusted (at the rotation's end).
   */
  private async caChanged(): Promise<void> {
    if (this.#closed) return;
    this.#bundle = { ...this.#bundle, caPem: this.authority.caPem };
    this.#clientCredentials = undefined;
    this.#server.update(this.#bundle);
    this.#joinServer.update(this.#bundle);
    writeBundle(this.tlsDir, this.#bundle);
    await this.ensureAdminBundle().catch((err: unknown) =>
      this.config.log(`security: cannot renew the admin bundle: ${(err as Error).message}`),
    );
    if (!this.signedByTrustedRoot(this.#bundle.certPem)) await this.renew();
  }

  private signedByTrustedRoot(certPem: string): boolean {
    return this.authority.record.roots.some((root) => this.signedBy(certPem, root));
  }

  private signedBy(certPem: string, rootPem: string): boolean {
    try {
      return new X509Certificate(splitPem(certPem)[0]!).verify(new X509Certificate(rootPem).publicKey);
    } catch {
      return false;
    }
  }
}
