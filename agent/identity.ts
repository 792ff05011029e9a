// The node's identity: its certificate (CN = node id, OU = worker, O = cluster id) and key,
// kept in STATE/tls (ca.pem, cert.pem, key.pem 0600; in memory without --state-dir). The
// first start joins with the token through a manager's join port; later starts use the
// certificate and ignore the token. It renews itself at 50-80% of its life, and when the
// manager says so (a CA rotation), over the session's mutual TLS; the key never leaves.
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChannelCredentials } from '@grpc/grpc-js';
import { hasBundle, readBundle, writeBundle, type TlsBundle } from '../proto/pki/bundle.js';
import { managerCredentials } from '../proto/pki/grpc-tls.js';
import { JoinError, joinAddressOf, joinCluster } from '../proto/pki/join.js';
import { certificateInfo, newKeyAndCsr, renewDelayMs, type CertificateInfo } from '../proto/pki/x509.js';
import type { Log } from './log.js';

export interface IdentityOptions {
  stateDir?: string;
  managers: string[];
  joinToken: string;
  hostname: string;
  log: Log;
  signal?: AbortSignal;
}

/** Asks the manager for a certificate for this CSR (the agent's RenewCertificate call). */
export type Renewer = (csrPem: string) => Promise<{ certPem: string; caPem: string }>;

const JOIN_RETRY_MIN_MS = 500;
const JOIN_RETRY_MAX_MS = 10_000;
const RENEW_RETRY_MS = 5_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export class NodeIdentity {
  #bundle: TlsBundle;
  #info: CertificateInfo;
  #credentials: ChannelCredentials | undefined;
  #timer: NodeJS.Timeout | undefined;
  #renewer: Renewer | undefined;
  #closed = false;
  #renewing: Promise<void> | undefined;

  private constructor(
    bundle: TlsBundle,
    private readonly opts: IdentityOptions,
  ) {
    this.#bundle = bundle;
    this.#info = certificateInfo(bundle.certPem);
  }

  /** The certificate kept in STATE/tls, or a new one from joining with the token. */
  static async obtain(opts: IdentityOptions): Promise<NodeIdentity> {
    const dir = tlsDir(opts.stateDir);
    if (dir && hasBundle(dir)) return new NodeIdentity(readBundle(dir), opts);
    if (!opts.joinToken) throw new Error('this node has no certificate yet: give --join-token (or SHOAL_JOIN_TOKEN)');
    let delay = JOIN_RETRY_MIN_MS;
    for (let round = 1; ; round++) {
      for (const manager of opts.managers) {
        const at = joinAddressOf(manager);
        try {
          const joined = await joinCluster(at, opts.joinToken, opts.hostname);
          if (joined.role !== 'worker')
            throw new Error('--join-token is a manager token: an agent joins with the worker token');
          if (dir) writeBundle(dir, joined.bundle);
          opts.log(`agent: joined cluster ${joined.clusterId} through ${at} as node ${joined.id}`);
          return new NodeIdentity(joined.bundle, opts);
        } catch (err) {
          if (err instanceof JoinError && err.permanent) throw err;
          if (!(err instanceof JoinError)) throw err;
          if (round === 1 || round % 10 === 0) opts.log(`agent: ${err.message} (retrying)`);
        }
      }
      await sleep(delay, undefined, opts.signal ? { signal: opts.signal } : {});
      delay = Math.min(delay * 2, JOIN_RETRY_MAX_MS);
    }
  }

  get nodeId(): string {
    return this.#info.id;
  }

  get clusterId(): string {
    return this.#info.clusterId;
  }

  get notAfterMs(): number {
    return this.#info.notAfterMs;
  }

  /** Mutual TLS to the managers with the current certificate (a new value after each renewal). */
  credentials(): ChannelCredentials {
    this.#credentials ??= managerCredentials(this.#bundle, this.#info.clusterId);
    return this.#credentials;
  }

  /** Renews through `renewer` from now on: on a timer at 50-80% of the certificate's life. */
  startRenewal(renewer: Renewer): void {
    this.#renewer = renewer;
    this.schedule();
  }

  /** The manager pushed roots (a CA rotation): trust them, and renew now. */
  rootsChanged(caPem: string): void {
    if (caPem && caPem !== this.#bundle.caPem) {
      this.use({ ...this.#bundle, caPem });
      this.opts.log("agent: the cluster's trusted roots changed");
    }
    void this.renewNow();
  }

  /** One renewal (concurrent calls share it); failures are retried on a short timer. */
  renewNow(): Promise<void> {
    this.#renewing ??= this.renew().finally(() => (this.#renewing = undefined));
    return this.#renewing;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  private async renew(): Promise<void> {
    if (this.#closed || !this.#renewer) return;
    try {
      const { keyPem, csrPem } = await newKeyAndCsr();
      const res = await this.#renewer(csrPem);
      const bundle = { certPem: res.certPem, caPem: res.caPem || this.#bundle.caPem, keyPem };
      const info = certificateInfo(bundle.certPem);
      if (info.id !== this.#info.id)
        throw new Error(`the manager renewed the certificate of ${info.id}, not ${this.#info.id}`);
      this.use(bundle);
      this.opts.log(`agent: certificate renewed (valid until ${new Date(info.notAfterMs).toISOString()})`);
      this.schedule();
    } catch (err) {
      this.opts.log(`agent: cannot renew the certificate: ${(err as Error).message} (retrying)`);
      this.schedule(RENEW_RETRY_MS);
    }
  }

  private use(bundle: TlsBundle): void {
    this.#bundle = bundle;
    this.#info = certificateInfo(bundle.certPem);
    this.#credentials = undefined;
    const dir = tlsDir(this.opts.stateDir);
    if (dir) writeBundle(dir, bundle);
  }

  private schedule(delayMs?: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    const wait = delayMs ?? renewDelayMs(this.#info.notBeforeMs, this.#info.notAfterMs, Date.now());
    // setTimeout cannot wait longer than ~24.8 days: a longer wait is taken in steps.
    this.#timer =
      wait > MAX_TIMER_MS
        ? setTimeout(() => this.schedule(wait - MAX_TIMER_MS), MAX_TIMER_MS)
        : setTimeout(() => void this.renewNow(), wait);
    this.#timer.unref();
  }
}

function tlsDir(stateDir: string | undefined): string | undefined {
  return stateDir === undefined ? undefined : join(stateDir, 'tls');
}
