// The cluster's certificate authority as every manager sees it: the CA record in etcd
// (roots, the signing key sealed by the cluster key, the join tokens' secrets, the node
// certificates' lifetime) and the members (who holds a node certificate). Any manager can
// sign (all hold the cluster key); the record is created once, by the first manager.
import { EventEmitter } from 'node:events';
import type { Etcd3, Watcher } from 'etcd3';
import { newId } from '../../proto/naming.js';
import {
  formatToken,
  newTokenSecret,
  parseToken,
  rootDigest,
  secretsEqual,
  TOKEN_SHAPE,
} from '../../proto/pki/token.js';
import { type RoleName } from '../../proto/pki/x509.js';
import { CA_KEY, MEMBERS_PREFIX, memberKey } from '../store/keys.js';
import { CertificateAuthority } from './ca.js';
import { open, seal } from './seal.js';

export const DEFAULT_CERT_EXPIRY_MS = 90 * 24 * 3600_000;
/** A node certificate lives at least this long (renewal happens at 50-80% of its life). */
export const MIN_CERT_EXPIRY_MS = 60_000;
/** Client (admin) certificates are files people hold, renewed by nobody: they last a year whatever --cert-expiry says. */
export const CLIENT_CERT_LIFETIME_MS = 365 * 24 * 3600_000;
export const MAX_CERT_EXPIRY_MS = 10 * 365 * 24 * 3600_000;

export interface CaRecord {
  clusterId: string;
  /** The roots trusted, PEM, the signing one first (two while a rotation is under way). */
  roots: string[];
  /** The signing root's PKCS#8 key, sealed by the cluster key. */
  signingKey: string;
  workerSecret: string;
  managerSecret: string;
  certExpiryMs: number;
  rotationStartedAtMs?: number;
}

export interface MemberRecord {
  id: string;
  role: RoleName;
  hostname: string;
  joinedAtMs: number;
  /** The digest of the root that signed its newest certificate (a CA rotation waits for every member). */
  digest: string;
}

export interface Issued {
  id: string;
  role: RoleName;
  certPem: string;
  caPem: string;
}

export class JoinRefused extends Error {
  override name = 'JoinRefused';
}

export interface AuthorityOptions {
  /** The node certificates' lifetime when this manager creates the CA, or sets it (--cert-expiry). */
  certExpiryMs?: number;
  /** An external root to create the cluster with (--external-ca-cert/--external-ca-key). */
  external?: { certPem: string; keyPem: string };
  log: (line: string) => void;
  now?: () => number;
}

export class ClusterAuthority extends EventEmitter<{ changed: [CaRecord] }> {
  #record: CaRecord | undefined;
  #signer: { pem: string; ca: CertificateAuthority } | undefined;
  #watcher: Watcher | undefined;
  #closed = false;
  private readonly now: () => number;

  constructor(
    private readonly etcd: Etcd3,
    private readonly clusterKey: Buffer,
    private readonly opts: AuthorityOptions,
  ) {
    super();
    this.now = opts.now ?? Date.now;
  }

  /** Reads the CA record (creating it if this is the first manager) and follows its changes. */
  async start(): Promise<void> {
    let rec = await this.read();
    if (!rec) {
      const created = await this.create();
      const won = await this.etcd
        .if(CA_KEY, 'Create', '==', 0)
        .then(this.etcd.put(CA_KEY).value(JSON.stringify(created)))
        .commit();
      if (won.succeeded) this.opts.log(`security: created the cluster's root CA (cluster ${created.clusterId})`);
      rec = won.succeeded ? created : await this.read();
      if (!rec) throw new Error('the CA record vanished while it was being created');
    }
    this.use(rec);
    await this.signer(); // fails now, with a clear message, when the cluster key is not this cluster's
    if (this.opts.certExpiryMs !== undefined && this.opts.certExpiryMs !== rec.certExpiryMs) {
      const expiry = this.opts.certExpiryMs;
      await this.update((r) => ({ ...r, certExpiryMs: expiry }));
    }
    this.#watcher = await this.etcd.watch().key(CA_KEY).create();
    this.#watcher.on('put', (kv) => {
      try {
        this.use(JSON.parse(kv.value.toString()) as CaRecord);
      } catch (err) {
        this.opts.log(`security: unreadable CA record: ${(err as Error).message}`);
      }
    });
    this.#watcher.on('error', (err) => this.opts.log(`security: CA watch: ${err.message}`));
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watcher?.cancel().catch(() => {});
  }

  get record(): CaRecord {
    if (!this.#record) throw new Error('the cluster authority has not started');
    return this.#record;
  }

  get clusterId(): string {
    return this.record.clusterId;
  }

  /** The roots to trust, one PEM bundle, the signing root first. */
  get caPem(): string {
    // One PEM block per line run: OpenSSL does not read "-----END ...----------BEGIN ...".
    return this.record.roots.map((r) => `${r.trim()}\n`).join('');
  }

  get digest(): string {
    return rootDigest(this.record.roots[0]!);
  }

  // ------------------------------------------------------------ signing

  /** Signs a certificate for `id` and records it as a member (workers and managers). */
  async issue(id: string, role: RoleName, csrPem: string, hostname = ''): Promise<Issued> {
    const rec = this.record;
    const signer = await this.signer();
    const lifetimeMs = role === 'admin' ? CLIENT_CERT_LIFETIME_MS : rec.certExpiryMs;
    const certPem = await signer.sign({ csrPem, id, role, clusterId: rec.clusterId, lifetimeMs });
    if (role !== 'admin') {
      const member: MemberRecord = { id, role, hostname, joinedAtMs: this.now(), digest: this.digest };
      const prev = await this.member(id);
      if (prev) member.joinedAtMs = prev.joinedAtMs;
      if (prev && !hostname) member.hostname = prev.hostname;
      await this.etcd.put(memberKey(id)).value(JSON.stringify(member));
    }
    return { id, role, certPem, caPem: this.caPem };
  }

  /** A joiner's token checked: the role it grants. The digest must be the signing root's. */
  checkToken(token: string): RoleName {
    const parsed = parseToken(token);
    if (!parsed) throw new JoinRefused(`the join token is malformed (expected ${TOKEN_SHAPE})`);
    if (parsed.digest !== this.digest)
      throw new JoinRefused("the join token is for another CA (the cluster's root was rotated?): get a new token");
    const rec = this.record;
    if (secretsEqual(parsed.secret, this.secret(rec, 'worker'))) return 'worker';
    if (secretsEqual(parsed.secret, this.secret(rec, 'manager'))) return 'manager';
    throw new JoinRefused("the join token is not valid (rotated, or never this cluster's)");
  }

  /** Signs a joiner's CSR under a new id with the role its token grants. */
  async join(token: string, csrPem: string, hostname: string): Promise<Issued> {
    const role = this.checkToken(token);
    return this.issue(newId(), role, csrPem, hostname);
  }

  /** A new certificate for a member (same id and role); removed holders are refused. */
  async renew(id: string, role: RoleName, csrPem: string): Promise<Issued> {
    if (role !== 'admin' && !(await this.member(id)))
      throw new JoinRefused(`node ${id} was removed from the cluster: join it again with a token`);
    return this.issue(id, role, csrPem);
  }

  async member(id: string): Promise<MemberRecord | undefined> {
    const v = await this.etcd.get(memberKey(id)).string();
    return v === null ? undefined : (JSON.parse(v) as MemberRecord);
  }

  async members(): Promise<MemberRecord[]> {
    const all = await this.etcd.getAll().prefix(MEMBERS_PREFIX).strings();
    return Object.values(all).map((v) => JSON.parse(v) as MemberRecord);
  }

  /** Takes a holder's membership away: its certificate is refused from now on. */
  async revoke(id: string): Promise<void> {
    await this.etcd.delete().key(memberKey(id));
  }

  // ------------------------------------------------------------ tokens

  async tokens(rotate: { worker?: boolean; manager?: boolean } = {}): Promise<{ worker: string; manager: string }> {
    if (rotate.worker || rotate.manager) {
      await this.update((r) => ({
        ...r,
        ...(rotate.worker ? { workerSecret: this.sealSecret('worker', newTokenSecret()) } : {}),
        ...(rotate.manager ? { managerSecret: this.sealSecret('manager', newTokenSecret()) } : {}),
      }));
    }
    const rec = this.record;
    return {
      worker: formatToken(this.digest, this.secret(rec, 'worker')),
      manager: formatToken(this.digest, this.secret(rec, 'manager')),
    };
  }

  // ------------------------------------------------------------ rotation

  /** Starts a root rotation: a new signing root (or the one given), the old one still trusted. */
  async rotate(external?: { certPem: string; keyPem: string }): Promise<void> {
    const ca = external
      ? await CertificateAuthority.load(external.certPem, external.keyPem)
      : await CertificateAuthority.create(this.clusterId, this.now());
    await this.update((r) => ({
      ...r,
      roots: [ca.certPem, r.roots[r.roots.length - 1]!],
      signingKey: seal(this.clusterKey, Buffer.from(ca.keyPem), 'ca-key'),
      rotationStartedAtMs: this.now(),
      // The tokens carry the root's digest: they change with it (the secrets stay).
    }));
    this.opts.log(`security: CA rotation started (new root ${this.digest.slice(0, 12)}...)`);
  }

  /** Ends a rotation: only the new root is trusted from now on. */
  async finishRotation(): Promise<void> {
    await this.update((r) => {
      const { rotationStartedAtMs: _started, ...rest } = r;
      return { ...rest, roots: [r.roots[0]!] };
    });
    this.opts.log('security: CA rotation finished (the old root is no longer trusted)');
  }

  // ------------------------------------------------------------ internals

  private async create(): Promise<CaRecord> {
    const clusterId = newId();
    const ca = this.opts.external
      ? await CertificateAuthority.load(this.opts.external.certPem, this.opts.external.keyPem)
      : await CertificateAuthority.create(clusterId, this.now());
    return {
      clusterId,
      roots: [ca.certPem],
      signingKey: seal(this.clusterKey, Buffer.from(ca.keyPem), 'ca-key'),
      workerSecret: this.sealSecret('worker', newTokenSecret()),
      managerSecret: this.sealSecret('manager', newTokenSecret()),
      certExpiryMs: this.opts.certExpiryMs ?? DEFAULT_CERT_EXPIRY_MS,
    };
  }

  private async read(): Promise<CaRecord | undefined> {
    const v = await this.etcd.get(CA_KEY).string();
    return v === null ? undefined : (JSON.parse(v) as CaRecord);
  }

  /** Read-modify-write of the CA record, retried when another manager wrote in between. */
  private async update(change: (r: CaRecord) => CaRecord): Promise<void> {
    for (let attempt = 0; attempt < 10; attempt++) {
      const res = await this.etcd.get(CA_KEY).exec();
      const kv = res.kvs[0];
      if (!kv) throw new Error('the cluster has no CA record');
      const next = change(JSON.parse(kv.value.toString()) as CaRecord);
      const txn = await this.etcd
        .if(CA_KEY, 'Mod', '==', kv.mod_revision)
        .then(this.etcd.put(CA_KEY).value(JSON.stringify(next)))
        .commit();
      if (txn.succeeded) {
        this.use(next);
        return;
      }
    }
    throw new Error('the CA record kept changing: try again');
  }

  private use(rec: CaRecord): void {
    const changed = this.#record !== undefined && JSON.stringify(this.#record) !== JSON.stringify(rec);
    this.#record = rec;
    if (changed) this.emit('changed', rec);
  }

  private async signer(): Promise<CertificateAuthority> {
    const rec = this.record;
    const cached = this.#signer;
    if (cached && cached.pem === rec.roots[0]) return cached.ca;
    let keyPem: string;
    try {
      keyPem = open(this.clusterKey, rec.signingKey, 'ca-key').toString();
    } catch (err) {
      throw new Error(
        "this manager's cluster key does not open the cluster's CA: a further manager joins with a manager token (--join-token, --join)",
        { cause: err },
      );
    }
    const ca = await CertificateAuthority.load(rec.roots[0]!, keyPem);
    this.#signer = { pem: rec.roots[0]!, ca };
    return ca;
  }

  private sealSecret(role: 'worker' | 'manager', secret: string): string {
    return seal(this.clusterKey, Buffer.from(secret), `${role}-token`);
  }

  private secret(rec: CaRecord, role: 'worker' | 'manager'): string {
    return open(this.clusterKey, role === 'worker' ? rec.workerSecret : rec.managerSecret, `${role}-token`).toString();
  }
}
